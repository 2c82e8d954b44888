package govmomitest

// The SOAP methods govmomi's vcsim serves that wave 2 added: customization specs and
// vm.customize, IP pools, PostEvent, UpgradeVM_Task, and VirtualDiskManager's
// MoveVirtualDisk_Task and SetVirtualDiskUuid, through govmomi's object, event and methods
// packages (issue 15).

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// vimFault is the fault of a failed call (failing the test when the call succeeded or did
// not fail with a SOAP fault).
func vimFault(t *testing.T, what string, err error) types.AnyType {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want a fault, got success", what)
	}
	if !soap.IsSoapFault(err) {
		t.Fatalf("%s: want a SOAP fault, got %v", what, err)
	}
	return soap.ToSoapFault(err).VimFault()
}

// someVM is a powered-off VM of the default inventory (the i-th one).
func someVM(t *testing.T, ctx context.Context, f *find.Finder, i int) *object.VirtualMachine {
	t.Helper()
	vms, err := f.VirtualMachineList(ctx, "*")
	if err != nil || len(vms) <= i {
		t.Fatalf("VM list: %v (%d VMs)", err, len(vms))
	}
	powerOff(t, ctx, vms[i])
	return vms[i]
}

func linuxSpec(host string, ips ...string) types.CustomizationSpec {
	spec := types.CustomizationSpec{
		Identity: &types.CustomizationLinuxPrep{
			HostName: &types.CustomizationFixedName{Name: host},
			Domain:   "example.com",
		},
		GlobalIPSettings: types.CustomizationGlobalIPSettings{DnsServerList: []string{"10.0.0.2"}},
	}
	for _, ip := range ips {
		spec.NicSettingMap = append(spec.NicSettingMap, types.CustomizationAdapterMapping{
			Adapter: types.CustomizationIPSettings{
				Ip:         &types.CustomizationFixedIp{IpAddress: ip},
				SubnetMask: "255.255.255.0",
				Gateway:    []string{"10.0.0.1"},
			},
		})
	}
	return spec
}

// TestMethods2CustomizationSpecs: govc customization.* (create, exists, get, info,
// duplicate, rename, overwrite, delete) and their faults.
func TestMethods2CustomizationSpecs(t *testing.T) {
	ctx, c := soapClient(t)
	m := object.NewCustomizationSpecManager(c.Client)
	item := types.CustomizationSpecItem{
		Info: types.CustomizationSpecInfo{Name: "m2-linux", Description: "wave 2", Type: "Linux"},
		Spec: linuxSpec("web01", "10.0.0.42"),
	}
	if err := m.CreateCustomizationSpec(ctx, item); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, ok := vimFault(t, "create again", m.CreateCustomizationSpec(ctx, item)).(types.AlreadyExists); !ok {
		t.Fatal("create again: want AlreadyExists")
	}
	if ok, err := m.DoesCustomizationSpecExist(ctx, "m2-linux"); err != nil || !ok {
		t.Fatalf("exists: %v %v", ok, err)
	}
	if ok, err := m.DoesCustomizationSpecExist(ctx, "nope"); err != nil || ok {
		t.Fatalf("exists(nope): %v %v", ok, err)
	}
	got, err := m.GetCustomizationSpec(ctx, "m2-linux")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	prep, ok := got.Spec.Identity.(*types.CustomizationLinuxPrep)
	if !ok || prep.HostName.(*types.CustomizationFixedName).Name != "web01" || prep.Domain != "example.com" {
		t.Fatalf("identity round trip: %#v", got.Spec.Identity)
	}
	if len(got.Spec.NicSettingMap) != 1 ||
		got.Spec.NicSettingMap[0].Adapter.Ip.(*types.CustomizationFixedIp).IpAddress != "10.0.0.42" {
		t.Fatalf("NIC settings round trip: %#v", got.Spec.NicSettingMap)
	}
	if got.Info.ChangeVersion == "" || got.Info.LastUpdateTime == nil || got.Info.Type != "Linux" {
		t.Fatalf("server-kept info: %#v", got.Info)
	}
	if _, ok := vimFault(t, "get(nope)", func() error { _, err := m.GetCustomizationSpec(ctx, "nope"); return err }()).(types.NotFound); !ok {
		t.Fatal("get(nope): want NotFound")
	}

	if err := m.DuplicateCustomizationSpec(ctx, "m2-linux", "m2-copy"); err != nil {
		t.Fatalf("duplicate: %v", err)
	}
	if _, ok := vimFault(t, "duplicate onto a name", m.DuplicateCustomizationSpec(ctx, "m2-linux", "m2-copy")).(types.AlreadyExists); !ok {
		t.Fatal("duplicate onto a taken name: want AlreadyExists")
	}
	if err := m.RenameCustomizationSpec(ctx, "m2-copy", "m2-renamed"); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if _, ok := vimFault(t, "rename missing", m.RenameCustomizationSpec(ctx, "m2-copy", "x")).(types.NotFound); !ok {
		t.Fatal("rename of a missing spec: want NotFound")
	}
	infos, err := m.Info(ctx)
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	// This test's specs, in creation order (a vcsim-model server starts with vcsim's own
	// specs, listed before them).
	var names []string
	for _, i := range infos {
		if strings.HasPrefix(i.Name, "m2-") {
			names = append(names, i.Name)
		}
	}
	if strings.Join(names, ",") != "m2-linux,m2-renamed" {
		t.Fatalf("info lists %v", names)
	}

	// Overwrite with the version read succeeds; with a stale one it is ConcurrentAccess.
	got.Info.Description = "changed"
	if err := m.OverwriteCustomizationSpec(ctx, *got); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	if _, ok := vimFault(t, "stale overwrite", m.OverwriteCustomizationSpec(ctx, *got)).(types.ConcurrentAccess); !ok {
		t.Fatal("stale overwrite: want ConcurrentAccess")
	}
	again, err := m.GetCustomizationSpec(ctx, "m2-linux")
	if err != nil || again.Info.Description != "changed" || again.Info.ChangeVersion == got.Info.ChangeVersion {
		t.Fatalf("after overwrite: %#v %v", again, err)
	}

	if err := m.DeleteCustomizationSpec(ctx, "m2-renamed"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, ok := vimFault(t, "delete again", m.DeleteCustomizationSpec(ctx, "m2-renamed")).(types.NotFound); !ok {
		t.Fatal("delete again: want NotFound")
	}
}

// TestMethods2CustomizeVM: govc vm.customize on a powered-off VM, then power-on brings the
// guest up with the spec's host name and address.
func TestMethods2CustomizeVM(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	vm := someVM(t, ctx, f, 0)
	devices, err := vm.Device(ctx)
	if err != nil {
		t.Fatalf("devices: %v", err)
	}
	nics := len(devices.SelectByType((*types.VirtualEthernetCard)(nil)))
	var ips []string
	for i := 0; i < nics; i++ {
		ips = append(ips, "10.0.0."+string(rune('1'+i))+"0")
	}

	// One NIC setting too many is NicSettingMismatch.
	tk, err := vm.Customize(ctx, linuxSpec("web01", append(ips, "10.0.0.99")...))
	if _, ok := taskFault(t, ctx, "customize with extra NIC", tk, err).(*types.NicSettingMismatch); !ok {
		t.Fatal("want NicSettingMismatch")
	}

	tk, err = vm.Customize(ctx, linuxSpec("web01", ips...))
	result(t, ctx, "customize", tk, err)
	var o mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.tools"}, &o); err != nil {
		t.Fatalf("properties: %v", err)
	}
	if o.Config == nil || o.Config.Tools == nil || o.Config.Tools.PendingCustomization == "" {
		t.Fatal("a customization is pending")
	}
	tk, err = vm.Customize(ctx, linuxSpec("web02", ips...))
	if _, ok := taskFault(t, ctx, "customize twice", tk, err).(*types.CustomizationPending); !ok {
		t.Fatal("want CustomizationPending")
	}

	tk, err = vm.PowerOn(ctx)
	result(t, ctx, "power on", tk, err)
	if err := vm.Properties(ctx, vm.Reference(), []string{"guest", "config.tools"}, &o); err != nil {
		t.Fatalf("properties: %v", err)
	}
	if o.Guest == nil || o.Guest.HostName != "web01" {
		t.Fatalf("guest host name: %#v", o.Guest)
	}
	if nics > 0 && (o.Guest.IpAddress != ips[0] || len(o.Guest.Net) != nics) {
		t.Fatalf("guest addresses: %q %#v", o.Guest.IpAddress, o.Guest.Net)
	}
	if o.Config.Tools != nil && o.Config.Tools.PendingCustomization != "" {
		t.Fatal("the customization is no longer pending")
	}

	// Powered on: InvalidPowerState.
	tk, err = vm.Customize(ctx, linuxSpec("web03", ips...))
	if _, ok := taskFault(t, ctx, "customize a running VM", tk, err).(*types.InvalidPowerState); !ok {
		t.Fatal("want InvalidPowerState")
	}
	powerOff(t, ctx, vm)
}

func ipPoolManager(t *testing.T, c *govmomi.Client) types.ManagedObjectReference {
	t.Helper()
	if c.ServiceContent.IpPoolManager == nil {
		t.Fatal("the service content names an IpPoolManager")
	}
	return *c.ServiceContent.IpPoolManager
}

// TestMethods2IpPools: create, query, allocate (idempotent, exhaustion), query allocations,
// release, update and destroy an IP pool, as govmomi's methods package calls them.
func TestMethods2IpPools(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatalf("datacenter: %v", err)
	}
	m := ipPoolManager(t, c)
	pool := types.IpPool{
		Name: "m2-pool",
		Ipv4Config: &types.IpPoolIpPoolConfigInfo{
			SubnetAddress: "10.0.0.0", Netmask: "255.255.255.0", Gateway: "10.0.0.1",
			Range: "10.0.0.10#2", IpPoolEnabled: types.NewBool(true),
		},
		Ipv6Config: &types.IpPoolIpPoolConfigInfo{
			SubnetAddress: "2001:db8::", Netmask: "ffff:ffff:ffff:ffff::", Range: "2001:db8::10#4",
		},
	}
	created, err := methods.CreateIpPool(ctx, c.Client, &types.CreateIpPool{This: m, Dc: dc.Reference(), Pool: pool})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	id := created.Returnval
	_, err = methods.CreateIpPool(ctx, c.Client, &types.CreateIpPool{This: m, Dc: dc.Reference(), Pool: pool})
	if _, ok := vimFault(t, "create a taken name", err).(types.InvalidArgument); !ok {
		t.Fatal("a taken name: want InvalidArgument")
	}
	bad := pool
	bad.Name = "m2-bad"
	bad.Ipv4Config = &types.IpPoolIpPoolConfigInfo{SubnetAddress: "10.0.0.0", Netmask: "255.255.255.0", Range: "10.0.1.10#2"}
	_, err = methods.CreateIpPool(ctx, c.Client, &types.CreateIpPool{This: m, Dc: dc.Reference(), Pool: bad})
	if _, ok := vimFault(t, "create a range outside the subnet", err).(types.InvalidArgument); !ok {
		t.Fatal("a range outside the subnet: want InvalidArgument")
	}

	query := func() types.IpPool {
		t.Helper()
		res, err := methods.QueryIpPools(ctx, c.Client, &types.QueryIpPools{This: m, Dc: dc.Reference()})
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		for _, p := range res.Returnval {
			if p.Id == id {
				return p
			}
		}
		t.Fatalf("pool %d not listed: %#v", id, res.Returnval)
		return types.IpPool{}
	}
	if p := query(); p.Name != "m2-pool" || p.AvailableIpv4Addresses != 2 || p.AvailableIpv6Addresses != 4 {
		t.Fatalf("queried pool: %#v", p)
	}

	alloc := func(aid string) string {
		t.Helper()
		res, err := methods.AllocateIpv4Address(ctx, c.Client, &types.AllocateIpv4Address{This: m, Dc: dc.Reference(), PoolId: id, AllocationId: aid})
		if err != nil {
			t.Fatalf("allocate %s: %v", aid, err)
		}
		return res.Returnval
	}
	if a := alloc("a1"); a != "10.0.0.10" {
		t.Fatalf("a1 got %q", a)
	}
	if a := alloc("a1"); a != "10.0.0.10" {
		t.Fatalf("a1 again got %q (allocation is idempotent)", a)
	}
	if a := alloc("a2"); a != "10.0.0.11" {
		t.Fatalf("a2 got %q", a)
	}
	if a := alloc("a3"); a != "" {
		t.Fatalf("an exhausted pool answers the empty string, got %q", a)
	}
	v6, err := methods.AllocateIpv6Address(ctx, c.Client, &types.AllocateIpv6Address{This: m, Dc: dc.Reference(), PoolId: id, AllocationId: "a1"})
	if err != nil || v6.Returnval != "2001:db8::10" {
		t.Fatalf("ipv6 allocation: %#v %v", v6, err)
	}
	if p := query(); p.AllocatedIpv4Addresses != 2 || p.AvailableIpv4Addresses != 0 || p.AllocatedIpv6Addresses != 1 {
		t.Fatalf("counts after allocating: %#v", p)
	}

	user := serverURL(t).User.Username()
	allocs, err := methods.QueryIPAllocations(ctx, c.Client, &types.QueryIPAllocations{This: m, Dc: dc.Reference(), PoolId: id, ExtensionKey: user})
	if err != nil || len(allocs.Returnval) != 3 {
		t.Fatalf("allocations of %s: %#v %v", user, allocs, err)
	}

	_, err = methods.DestroyIpPool(ctx, c.Client, &types.DestroyIpPool{This: m, Dc: dc.Reference(), Id: id, Force: false})
	if _, ok := vimFault(t, "destroy in use", err).(types.InvalidState); !ok {
		t.Fatal("destroying a pool in use: want InvalidState")
	}
	if _, err := methods.ReleaseIpAllocation(ctx, c.Client, &types.ReleaseIpAllocation{This: m, Dc: dc.Reference(), PoolId: id, AllocationId: "a1"}); err != nil {
		t.Fatalf("release: %v", err)
	}
	if a := alloc("a3"); a != "10.0.0.10" {
		t.Fatalf("a released address is allocated again, got %q", a)
	}

	// A new range releases what it no longer holds.
	upd := types.IpPool{Id: id, Ipv4Config: &types.IpPoolIpPoolConfigInfo{SubnetAddress: "10.0.0.0", Netmask: "255.255.255.0", Range: "10.0.0.11#3"}}
	if _, err := methods.UpdateIpPool(ctx, c.Client, &types.UpdateIpPool{This: m, Dc: dc.Reference(), Pool: upd}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if p := query(); p.Name != "m2-pool" || p.AllocatedIpv4Addresses != 1 || p.AvailableIpv4Addresses != 2 || p.AllocatedIpv6Addresses != 0 {
		t.Fatalf("after update: %#v", p)
	}
	if _, err := methods.DestroyIpPool(ctx, c.Client, &types.DestroyIpPool{This: m, Dc: dc.Reference(), Id: id, Force: true}); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	// Only the destroyed pool is gone (a vcsim-model server starts with its own "ip-pool").
	res, err := methods.QueryIpPools(ctx, c.Client, &types.QueryIpPools{This: m, Dc: dc.Reference()})
	if err != nil {
		t.Fatalf("pools after destroy: %v", err)
	}
	for _, p := range res.Returnval {
		if p.Id == id || p.Name == "m2-pool" {
			t.Fatalf("pool %d is still listed after destroy: %#v", id, p)
		}
	}
}

// TestMethods2PostEvent: a posted user event is found by QueryEvents on its VM, with the
// server's key, time and user.
func TestMethods2PostEvent(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	vm := someVM(t, ctx, f, 1)
	em := event.NewManager(c.Client)
	ev := &types.GeneralUserEvent{
		GeneralEvent: types.GeneralEvent{
			Event: types.Event{
				FullFormattedMessage: "hello from methods2",
				Vm: &types.VmEventArgument{
					EntityEventArgument: types.EntityEventArgument{Name: vm.Name()},
					Vm:                  vm.Reference(),
				},
			},
			Message: "hello from methods2",
		},
	}
	if err := em.PostEvent(ctx, ev); err != nil {
		t.Fatalf("post: %v", err)
	}
	found, err := em.QueryEvents(ctx, types.EventFilterSpec{
		Entity: &types.EventFilterSpecByEntity{Entity: vm.Reference(), Recursion: types.EventFilterSpecRecursionOptionSelf},
		Type:   []string{"GeneralUserEvent"},
	})
	if err != nil || len(found) != 1 {
		t.Fatalf("query: %d events, %v", len(found), err)
	}
	got := found[0].(*types.GeneralUserEvent)
	if got.FullFormattedMessage != "hello from methods2" || got.Message != "hello from methods2" ||
		got.Key == 0 || got.UserName != serverURL(t).User.Username() || got.Host == nil {
		t.Fatalf("posted event: %#v", got)
	}

	bad := &types.GeneralUserEvent{GeneralEvent: types.GeneralEvent{Event: types.Event{
		Vm: &types.VmEventArgument{Vm: types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-nope"}},
	}}}
	if _, ok := vimFault(t, "post about a missing VM", em.PostEvent(ctx, bad)).(types.InvalidEvent); !ok {
		t.Fatal("an event about a missing VM: want InvalidEvent")
	}
}

// TestMethods2UpgradeVM: govc vm.upgrade, with the version and power-state checks.
func TestMethods2UpgradeVM(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	vm := someVM(t, ctx, f, 2)
	tk, err := vm.UpgradeVM(ctx, "vmx-15")
	result(t, ctx, "upgrade to vmx-15", tk, err)
	var o mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.version"}, &o); err != nil || o.Config.Version != "vmx-15" {
		t.Fatalf("version after upgrade: %#v %v", o.Config, err)
	}
	tk, err = vm.UpgradeVM(ctx, "vmx-15")
	if _, ok := taskFault(t, ctx, "upgrade again", tk, err).(*types.AlreadyUpgraded); !ok {
		t.Fatal("upgrade to the same version: want AlreadyUpgraded")
	}
	_, err = vm.UpgradeVM(ctx, "vmx-99")
	if _, ok := vimFault(t, "upgrade past the host", err).(types.InvalidArgument); !ok {
		t.Fatal("a version the host lacks: want InvalidArgument")
	}
	tk, err = vm.PowerOn(ctx)
	result(t, ctx, "power on", tk, err)
	tk, err = vm.UpgradeVM(ctx, "")
	if _, ok := taskFault(t, ctx, "upgrade a running VM", tk, err).(*types.InvalidPowerState); !ok {
		t.Fatal("upgrading a running VM: want InvalidPowerState")
	}
	powerOff(t, ctx, vm)
	tk, err = vm.UpgradeVM(ctx, "")
	result(t, ctx, "upgrade to the newest", tk, err)
}

// TestMethods2VirtualDisks: VirtualDiskManager's SetVirtualDiskUuid and MoveVirtualDisk_Task.
func TestMethods2VirtualDisks(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatalf("datacenter: %v", err)
	}
	vdm := object.NewVirtualDiskManager(c.Client)
	spec := &types.FileBackedVirtualDiskSpec{
		VirtualDiskSpec: types.VirtualDiskSpec{DiskType: "thin", AdapterType: "lsiLogic"},
		CapacityKb:      2048,
	}
	tk, err := vdm.CreateVirtualDisk(ctx, "[LocalDS_0] m2-a.vmdk", dc, spec)
	result(t, ctx, "create disk", tk, err)
	uuid := "6000C29B692F5B1E8F1000C055FF08A9"
	if err := vdm.SetVirtualDiskUuid(ctx, "[LocalDS_0] m2-a.vmdk", dc, uuid); err != nil {
		t.Fatalf("set uuid: %v", err)
	}
	want := "60 00 c2 9b 69 2f 5b 1e-8f 10 00 c0 55 ff 08 a9"
	if got, err := vdm.QueryVirtualDiskUuid(ctx, "[LocalDS_0] m2-a.vmdk", dc); err != nil || got != want {
		t.Fatalf("uuid after set: %q %v", got, err)
	}
	if _, ok := vimFault(t, "bad uuid", vdm.SetVirtualDiskUuid(ctx, "[LocalDS_0] m2-a.vmdk", dc, "xyz")).(types.InvalidArgument); !ok {
		t.Fatal("a malformed UUID: want InvalidArgument")
	}

	tk, err = vdm.MoveVirtualDisk(ctx, "[LocalDS_0] m2-a.vmdk", dc, "[LocalDS_0] m2-b.vmdk", dc, false)
	result(t, ctx, "move disk", tk, err)
	if got, err := vdm.QueryVirtualDiskUuid(ctx, "[LocalDS_0] m2-b.vmdk", dc); err != nil || got != want {
		t.Fatalf("moved disk keeps its uuid: %q %v", got, err)
	}
	_, err = vdm.QueryVirtualDiskUuid(ctx, "[LocalDS_0] m2-a.vmdk", dc)
	if _, ok := vimFault(t, "old path", err).(types.FileNotFound); !ok {
		t.Fatal("the old path: want FileNotFound")
	}
	tk, err = vdm.MoveVirtualDisk(ctx, "[LocalDS_0] m2-a.vmdk", dc, "[LocalDS_0] m2-c.vmdk", dc, false)
	if _, ok := taskFault(t, ctx, "move a missing disk", tk, err).(*types.FileNotFound); !ok {
		t.Fatal("moving a missing disk: want FileNotFound")
	}
	tk, err = vdm.CreateVirtualDisk(ctx, "[LocalDS_0] m2-c.vmdk", dc, spec)
	result(t, ctx, "create a second disk", tk, err)
	tk, err = vdm.MoveVirtualDisk(ctx, "[LocalDS_0] m2-b.vmdk", dc, "[LocalDS_0] m2-c.vmdk", dc, false)
	if _, ok := taskFault(t, ctx, "move onto a disk", tk, err).(*types.FileAlreadyExists); !ok {
		t.Fatal("moving onto a disk without force: want FileAlreadyExists")
	}
	tk, err = vdm.MoveVirtualDisk(ctx, "[LocalDS_0] m2-b.vmdk", dc, "[LocalDS_0] m2-c.vmdk", dc, true)
	result(t, ctx, "move onto a disk with force", tk, err)
}
