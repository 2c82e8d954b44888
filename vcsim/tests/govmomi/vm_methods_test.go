package govmomitest

// The SOAP methods govc's vm.*, snapshot.*, license.* and role.* commands call, through
// govmomi's object, license and methods packages (issue 15, "Missing SOAP methods").

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/license"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func vmNamed(t *testing.T, ctx context.Context, f *find.Finder, name string) *object.VirtualMachine {
	t.Helper()
	vm, err := f.VirtualMachine(ctx, name)
	if err != nil {
		t.Fatalf("find %s: %v", name, err)
	}
	return vm
}

// result waits for a task and returns its result (failing the test on a task error).
func result(t *testing.T, ctx context.Context, what string, tk *object.Task, err error) types.AnyType {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	info, err := tk.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return info.Result
}

// taskFault waits for a task that must fail and returns its fault.
func taskFault(t *testing.T, ctx context.Context, what string, tk *object.Task, err error) types.BaseMethodFault {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	_, err = tk.WaitForResult(ctx, nil)
	var terr task.Error
	if !errors.As(err, &terr) {
		t.Fatalf("%s: want a task fault, got %v", what, err)
	}
	return terr.Fault()
}

func snapshotInfo(t *testing.T, ctx context.Context, vm *object.VirtualMachine) mo.VirtualMachine {
	t.Helper()
	var o mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"snapshot", "rootSnapshot", "config.hardware.numCPU"}, &o); err != nil {
		t.Fatalf("snapshot properties: %v", err)
	}
	return o
}

func powerOff(t *testing.T, ctx context.Context, vm *object.VirtualMachine) {
	t.Helper()
	state, err := vm.PowerState(ctx)
	if err != nil {
		t.Fatalf("power state: %v", err)
	}
	if state != types.VirtualMachinePowerStatePoweredOff {
		tk, err := vm.PowerOff(ctx)
		result(t, ctx, "power off", tk, err)
	}
}

// TestVmMethodsSnapshots: snapshot.create/tree/revert/remove as govc makes them.
func TestVmMethodsSnapshots(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	vm := vmNamed(t, ctx, f, "DC0_H0_VM0")
	powerOff(t, ctx, vm)

	tk, err := vm.CreateSnapshot(ctx, "s1", "first", false, false)
	s1 := result(t, ctx, "create s1", tk, err).(types.ManagedObjectReference)
	tk, err = vm.CreateSnapshot(ctx, "s2", "second", true, false)
	s2 := result(t, ctx, "create s2", tk, err).(types.ManagedObjectReference)

	o := snapshotInfo(t, ctx, vm)
	if o.Snapshot == nil || len(o.Snapshot.RootSnapshotList) != 1 {
		t.Fatalf("snapshot tree: %+v", o.Snapshot)
	}
	root := o.Snapshot.RootSnapshotList[0]
	if root.Name != "s1" || root.Description != "first" || root.Snapshot != s1 || root.Vm != vm.Reference() {
		t.Fatalf("root: %+v", root)
	}
	if len(root.ChildSnapshotList) != 1 || root.ChildSnapshotList[0].Snapshot != s2 {
		t.Fatalf("child: %+v", root.ChildSnapshotList)
	}
	if o.Snapshot.CurrentSnapshot == nil || *o.Snapshot.CurrentSnapshot != s2 {
		t.Fatalf("current: %v", o.Snapshot.CurrentSnapshot)
	}
	if len(o.RootSnapshot) != 1 || o.RootSnapshot[0] != s1 {
		t.Fatalf("rootSnapshot: %v", o.RootSnapshot)
	}
	if ref, err := vm.FindSnapshot(ctx, "s1/s2"); err != nil || *ref != s2 {
		t.Fatalf("find by path: %v %v", ref, err)
	}

	// govc snapshot.tree -s adds up sizes from layoutEx: each snapshot has its data file.
	var lay mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"layoutEx"}, &lay); err != nil || lay.LayoutEx == nil {
		t.Fatalf("layoutEx: %v", err)
	}
	if len(lay.LayoutEx.Snapshot) != 2 || lay.LayoutEx.Snapshot[0].DataKey < 0 {
		t.Fatalf("layoutEx snapshots: %+v", lay.LayoutEx.Snapshot)
	}

	// The snapshot object: its VM and the configuration it keeps.
	var snap mo.VirtualMachineSnapshot
	if err := c.PropertyCollector().RetrieveOne(ctx, s1, []string{"vm", "config", "childSnapshot"}, &snap); err != nil {
		t.Fatalf("snapshot object: %v", err)
	}
	if snap.Vm != vm.Reference() || snap.Config.Hardware.NumCPU != o.Config.Hardware.NumCPU || len(snap.ChildSnapshot) != 1 {
		t.Fatalf("snapshot object: vm %v cpus %d children %v", snap.Vm, snap.Config.Hardware.NumCPU, snap.ChildSnapshot)
	}

	if _, err := methods.RenameSnapshot(ctx, c.Client, &types.RenameSnapshot{This: s2, Name: "s2b", Description: "renamed"}); err != nil {
		t.Fatalf("rename: %v", err)
	}
	tk, err = vm.RevertToSnapshot(ctx, "s1", true)
	result(t, ctx, "revert s1", tk, err)
	if o := snapshotInfo(t, ctx, vm); *o.Snapshot.CurrentSnapshot != s1 {
		t.Fatalf("current after revert: %v", o.Snapshot.CurrentSnapshot)
	}
	tk, err = vm.RevertToCurrentSnapshot(ctx, true)
	result(t, ctx, "revert current", tk, err)

	tk, err = vm.RemoveSnapshot(ctx, "s2b", false, nil)
	result(t, ctx, "remove s2b", tk, err)
	if o := snapshotInfo(t, ctx, vm); len(o.Snapshot.RootSnapshotList[0].ChildSnapshotList) != 0 {
		t.Fatalf("tree after remove: %+v", o.Snapshot)
	}
	tk, err = vm.RemoveAllSnapshot(ctx, nil)
	result(t, ctx, "remove all", tk, err)
	if o := snapshotInfo(t, ctx, vm); o.Snapshot != nil {
		t.Fatalf("snapshots left: %+v", o.Snapshot)
	}
	if _, err := vm.FindSnapshot(ctx, "s1"); err == nil {
		t.Fatal("no snapshot should be found")
	}
}

func vmFolder(t *testing.T, ctx context.Context, c *govmomi.Client, f *find.Finder) *object.Folder {
	t.Helper()
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatalf("datacenter: %v", err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatalf("folders: %v", err)
	}
	return folders.VmFolder
}

// TestVmMethodsClone: vm.clone (full, linked from a snapshot, to a template, from a
// template) and the DuplicateName fault.
func TestVmMethodsClone(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	src := vmNamed(t, ctx, f, "DC0_C0_RP0_VM0")
	folder := vmFolder(t, ctx, c, f)

	tk, err := src.Clone(ctx, folder, "clone-full", types.VirtualMachineCloneSpec{PowerOn: true})
	full := object.NewVirtualMachine(c.Client, result(t, ctx, "full clone", tk, err).(types.ManagedObjectReference))
	if name, err := full.ObjectName(ctx); err != nil || name != "clone-full" {
		t.Fatalf("clone name: %q %v", name, err)
	}
	if state, _ := full.PowerState(ctx); state != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("powerOn: %s", state)
	}
	if src.UUID(ctx) == full.UUID(ctx) {
		t.Fatal("a clone has its own UUID")
	}

	tk, err = src.Clone(ctx, folder, "clone-full", types.VirtualMachineCloneSpec{})
	if _, ok := taskFault(t, ctx, "duplicate clone", tk, err).(*types.DuplicateName); !ok {
		t.Fatal("want DuplicateName")
	}

	tk, err = src.CreateSnapshot(ctx, "base", "", false, false)
	snap := result(t, ctx, "snapshot", tk, err).(types.ManagedObjectReference)
	linkedSpec := types.VirtualMachineCloneSpec{
		Location: types.VirtualMachineRelocateSpec{
			DiskMoveType: string(types.VirtualMachineRelocateDiskMoveOptionsCreateNewChildDiskBacking),
		},
		Snapshot: &snap,
	}
	tk, err = src.Clone(ctx, folder, "clone-linked", linkedSpec)
	linked := object.NewVirtualMachine(c.Client, result(t, ctx, "linked clone", tk, err).(types.ManagedObjectReference))
	devices, err := linked.Device(ctx)
	if err != nil {
		t.Fatalf("devices: %v", err)
	}
	disks := devices.SelectByType((*types.VirtualDisk)(nil))
	if len(disks) == 0 {
		t.Fatal("the linked clone has disks")
	}
	backing := disks[0].(*types.VirtualDisk).Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	if backing.Parent == nil {
		t.Fatalf("a linked clone's disk has a parent: %+v", backing)
	}

	tk, err = src.Clone(ctx, folder, "clone-tmpl", types.VirtualMachineCloneSpec{Template: true})
	tmpl := object.NewVirtualMachine(c.Client, result(t, ctx, "clone to template", tk, err).(types.ManagedObjectReference))
	var o mo.VirtualMachine
	if err := tmpl.Properties(ctx, tmpl.Reference(), []string{"config.template", "resourcePool"}, &o); err != nil {
		t.Fatalf("template properties: %v", err)
	}
	if !o.Config.Template || o.ResourcePool != nil {
		t.Fatalf("template: %v pool %v", o.Config.Template, o.ResourcePool)
	}
	pool := clusterPool(t, ctx, f).Reference()
	tk, err = tmpl.Clone(ctx, folder, "from-tmpl", types.VirtualMachineCloneSpec{
		Location: types.VirtualMachineRelocateSpec{Pool: &pool},
		Customization: &types.CustomizationSpec{
			Identity:         &types.CustomizationLinuxPrep{HostName: &types.CustomizationFixedName{Name: "h"}},
			GlobalIPSettings: types.CustomizationGlobalIPSettings{},
		},
	})
	result(t, ctx, "deploy from template", tk, err)
}

// TestVmMethodsRelocate: vm.migrate to another host of the cluster and back.
func TestVmMethodsRelocate(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	vm := vmNamed(t, ctx, f, "DC0_C0_RP0_VM1")
	host, err := vm.HostSystem(ctx)
	if err != nil {
		t.Fatalf("host: %v", err)
	}
	clusters, err := f.ClusterComputeResourceList(ctx, "*")
	if err != nil {
		t.Fatalf("clusters: %v", err)
	}
	hosts, err := clusters[0].Hosts(ctx)
	if err != nil {
		t.Fatalf("hosts: %v", err)
	}
	var other *object.HostSystem
	for _, h := range hosts {
		if h.Reference() != host.Reference() {
			other = h
			break
		}
	}
	ref := other.Reference()
	tk, err := vm.Relocate(ctx, types.VirtualMachineRelocateSpec{Host: &ref}, types.VirtualMachineMovePriorityDefaultPriority)
	result(t, ctx, "relocate", tk, err)
	if now, _ := vm.HostSystem(ctx); now.Reference() != ref {
		t.Fatalf("relocated to %v, want %v", now.Reference(), ref)
	}
	tk, err = vm.Migrate(ctx, nil, host, types.VirtualMachineMovePriorityDefaultPriority, "")
	result(t, ctx, "migrate", tk, err)
	if now, _ := vm.HostSystem(ctx); now.Reference() != host.Reference() {
		t.Fatalf("migrated to %v, want %v", now.Reference(), host.Reference())
	}
	ds, err := f.Datastore(ctx, "LocalDS_0")
	if err != nil {
		t.Fatalf("datastore: %v", err)
	}
	bad := types.ManagedObjectReference{Type: "ResourcePool", Value: ds.Reference().Value}
	tk, err = vm.Relocate(ctx, types.VirtualMachineRelocateSpec{Pool: &bad}, types.VirtualMachineMovePriorityDefaultPriority)
	switch taskFault(t, ctx, "relocate to a datastore as pool", tk, err).(type) {
	case *types.InvalidArgument, *types.ManagedObjectNotFound:
	default:
		t.Fatal("want InvalidArgument")
	}
}

// TestVmMethodsLicense: license.ls, license.label.set and license.assigned.ls.
func TestVmMethodsLicense(t *testing.T) {
	ctx, c := soapClient(t)
	m := license.NewManager(c.Client)
	const eval = "00000-00000-00000-00000-00000"
	list, err := m.List(ctx)
	if err != nil {
		t.Fatalf("license list: %v", err)
	}
	if len(list) == 0 || list[0].LicenseKey != eval || list[0].EditionKey != "eval" {
		t.Fatalf("licenses: %+v", list)
	}
	if _, err := methods.UpdateLicenseLabel(ctx, c.Client, &types.UpdateLicenseLabel{
		This: m.Reference(), LicenseKey: eval, LabelKey: "team", LabelValue: "ci",
	}); err != nil {
		t.Fatalf("label: %v", err)
	}
	list, _ = m.List(ctx)
	if len(list[0].Labels) != 1 || list[0].Labels[0].Key != "team" || list[0].Labels[0].Value != "ci" {
		t.Fatalf("labels: %+v", list[0].Labels)
	}
	am, err := m.AssignmentManager(ctx)
	if err != nil {
		t.Fatalf("assignment manager: %v", err)
	}
	assigned, err := am.QueryAssigned(ctx, "")
	if err != nil || len(assigned) == 0 || assigned[0].AssignedLicense.LicenseKey != eval {
		t.Fatalf("assigned: %+v %v", assigned, err)
	}
}

// TestVmMethodsRole: role.create then role.update (rename and new privileges).
func TestVmMethodsRole(t *testing.T) {
	ctx, c := soapClient(t)
	am := object.NewAuthorizationManager(c.Client)
	id, err := am.AddRole(ctx, "govc-role", []string{"VirtualMachine.Interact.PowerOn"})
	if err != nil {
		t.Fatalf("add role: %v", err)
	}
	if err := am.UpdateRole(ctx, id, "govc-role2", []string{"Folder.Create"}); err != nil {
		t.Fatalf("update role: %v", err)
	}
	roles, err := am.RoleList(ctx)
	if err != nil {
		t.Fatalf("roles: %v", err)
	}
	r := roles.ById(id)
	if r == nil || r.Name != "govc-role2" {
		t.Fatalf("role: %+v", r)
	}
	found := false
	for _, p := range r.Privilege {
		found = found || p == "Folder.Create"
	}
	if !found {
		t.Fatalf("privileges: %v", r.Privilege)
	}
}

// TestVmMethodsDiskPodLogin: datastore.disk.cp (CopyVirtualDisk_Task), datastore.cluster.create
// with a datastore moved in, and the login faults (wrong password, a token without an STS).
func TestVmMethodsDiskPodLogin(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatalf("datacenter: %v", err)
	}
	vdm := object.NewVirtualDiskManager(c.Client)
	spec := &types.FileBackedVirtualDiskSpec{
		VirtualDiskSpec: types.VirtualDiskSpec{DiskType: "thin", AdapterType: "lsiLogic"},
		CapacityKb:      1024,
	}
	tk, err := vdm.CreateVirtualDisk(ctx, "[LocalDS_0] go-a.vmdk", dc, spec)
	result(t, ctx, "create disk", tk, err)
	tk, err = vdm.CopyVirtualDisk(ctx, "[LocalDS_0] go-a.vmdk", dc, "[LocalDS_0] go-b.vmdk", dc,
		&types.VirtualDiskSpec{DiskType: "thin", AdapterType: "lsiLogic"}, false)
	result(t, ctx, "copy disk", tk, err)
	a, errA := vdm.QueryVirtualDiskUuid(ctx, "[LocalDS_0] go-a.vmdk", dc)
	b, errB := vdm.QueryVirtualDiskUuid(ctx, "[LocalDS_0] go-b.vmdk", dc)
	if errA != nil || errB != nil || a == b {
		t.Fatalf("uuids %q %q: %v %v", a, b, errA, errB)
	}
	tk, err = vdm.CopyVirtualDisk(ctx, "[LocalDS_0] go-a.vmdk", dc, "[LocalDS_0] go-b.vmdk", dc, nil, false)
	if _, ok := taskFault(t, ctx, "copy onto a disk", tk, err).(*types.FileAlreadyExists); !ok {
		t.Fatal("want FileAlreadyExists")
	}

	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatalf("folders: %v", err)
	}
	pod, err := folders.DatastoreFolder.CreateStoragePod(ctx, "go-pod")
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	ds, err := f.Datastore(ctx, "LocalDS_0")
	if err != nil {
		t.Fatalf("datastore: %v", err)
	}
	tk, err = pod.MoveInto(ctx, []types.ManagedObjectReference{ds.Reference()})
	result(t, ctx, "move into pod", tk, err)
	var p mo.StoragePod
	if err := pod.Properties(ctx, pod.Reference(), []string{"summary", "childEntity"}, &p); err != nil {
		t.Fatalf("pod: %v", err)
	}
	if p.Summary == nil || p.Summary.Capacity <= 0 || len(p.ChildEntity) != 1 {
		t.Fatalf("pod summary %+v children %v", p.Summary, p.ChildEntity)
	}

	u := serverURL(t)
	u.User = url.UserPassword(u.User.Username(), "wrong-password")
	if _, err := govmomi.NewClient(ctx, u, true); err == nil ||
		!strings.Contains(err.Error(), "Cannot complete login due to an incorrect user name or password.") {
		t.Fatalf("bad password: %v", err)
	}
	anon, err := govmomi.NewClient(ctx, func() *url.URL { v := *serverURL(t); v.User = nil; return &v }(), true)
	if err != nil {
		t.Fatalf("anonymous client: %v", err)
	}
	if err := anon.SessionManager.LoginByToken(ctx); err == nil {
		t.Fatal("LoginByToken without a token must fail")
	}
}
