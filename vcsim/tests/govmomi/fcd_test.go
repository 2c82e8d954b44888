package govmomitest

// First-class disks as govc's disk.* commands drive them: govmomi's vslm.ObjectManager on
// the vStorageObjectManager of the service content (create, ls, rename, extend, snapshots,
// tags, register, rm).

import (
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vslm"
)

func TestFcdLifecycle(t *testing.T) {
	ctx, c := soapClient(t)
	if c.ServiceContent.VStorageObjectManager == nil {
		t.Fatal("the service content has no vStorageObjectManager")
	}
	f := finder(t, ctx, c)
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := vslm.NewObjectManager(c.Client)

	// govc disk.create
	spec := types.VslmCreateSpec{
		Name:         "fcd-go",
		CapacityInMB: 64,
		BackingSpec: &types.VslmCreateSpecDiskFileBackingSpec{
			VslmCreateSpecBackingSpec: types.VslmCreateSpecBackingSpec{Datastore: ds.Reference()},
			ProvisioningType:          string(types.BaseConfigInfoDiskFileBackingInfoProvisioningTypeThin),
		},
	}
	task, err := m.CreateDisk(ctx, spec)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("create task: %v", err)
	}
	var obj types.VStorageObject
	switch r := info.Result.(type) {
	case types.VStorageObject:
		obj = r
	case *types.VStorageObject:
		obj = *r
	default:
		t.Fatalf("create result %T", info.Result)
	}
	id := obj.Config.Id.Id
	backing, ok := obj.Config.Backing.(*types.BaseConfigInfoDiskFileBackingInfo)
	if id == "" || !ok || backing.FilePath == "" || obj.Config.CapacityInMB != 64 {
		t.Fatalf("created: %+v", obj.Config)
	}

	// govc disk.ls
	ids, err := m.List(ctx, ds)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	found := false
	for _, i := range ids {
		found = found || i.Id == id
	}
	if !found {
		t.Fatalf("list %v lacks %s", ids, id)
	}

	// govc disk.ls -R (rename, then retrieve)
	if err := m.Rename(ctx, ds, id, "fcd-go-renamed"); err != nil {
		t.Fatalf("rename: %v", err)
	}
	got, err := m.Retrieve(ctx, ds, id)
	if err != nil || got.Config.Name != "fcd-go-renamed" {
		t.Fatalf("retrieve: %+v %v", got, err)
	}

	// govc disk.extend (govmomi sends HostExtendDisk_Task)
	task, err = m.ExtendDisk(ctx, ds, id, 128)
	if err != nil {
		t.Fatalf("extend: %v", err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("extend task: %v", err)
	}
	got, err = m.Retrieve(ctx, ds, id)
	if err != nil || got.Config.CapacityInMB != 128 {
		t.Fatalf("after extend: %+v %v", got, err)
	}

	// govc disk.snapshot.create / ls / rm
	task, err = m.CreateSnapshot(ctx, ds, id, "snap-1")
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	info, err = task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("snapshot task: %v", err)
	}
	var sid string
	switch r := info.Result.(type) {
	case types.ID:
		sid = r.Id
	case *types.ID:
		sid = r.Id
	default:
		t.Fatalf("snapshot result %T", info.Result)
	}
	snaps, err := m.RetrieveSnapshotInfo(ctx, ds, id)
	if err != nil || len(snaps.Snapshots) != 1 || snaps.Snapshots[0].Description != "snap-1" {
		t.Fatalf("snapshot info: %+v %v", snaps, err)
	}
	task, err = m.DeleteSnapshot(ctx, ds, id, sid)
	if err != nil {
		t.Fatalf("delete snapshot: %v", err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("delete snapshot task: %v", err)
	}
	snaps, err = m.RetrieveSnapshotInfo(ctx, ds, id)
	if err != nil || len(snaps.Snapshots) != 0 {
		t.Fatalf("after snapshot rm: %+v %v", snaps, err)
	}

	// govc disk.tags.attach / disk.ls -c -t / disk.tags.detach
	tag := types.VslmTagEntry{ParentCategoryName: "env", TagName: "ci"}
	if err := m.AttachTag(ctx, id, tag); err != nil {
		t.Fatalf("attach tag: %v", err)
	}
	tagged, err := m.ListAttachedObjects(ctx, "env", "ci")
	if err != nil || len(tagged) != 1 || tagged[0].Id != id {
		t.Fatalf("tagged: %v %v", tagged, err)
	}
	tags, err := m.ListAttachedTags(ctx, id)
	if err != nil || len(tags) != 1 || tags[0].TagName != "ci" {
		t.Fatalf("tags: %v %v", tags, err)
	}
	if err := m.DetachTag(ctx, id, tag); err != nil {
		t.Fatalf("detach tag: %v", err)
	}

	// govc disk.rm
	task, err = m.Delete(ctx, ds, id)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("delete task: %v", err)
	}
	_, err = m.Retrieve(ctx, ds, id)
	if err == nil || !soap.IsSoapFault(err) {
		t.Fatalf("retrieve after delete: %v", err)
	}
	if _, ok := soap.ToSoapFault(err).VimFault().(types.NotFound); !ok {
		t.Fatalf("want NotFound, got %#v", soap.ToSoapFault(err).VimFault())
	}
}

// govc disk.register: an existing .vmdk becomes a first-class disk, once.
func TestFcdRegister(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fm := object.NewFileManager(c.Client)
	if err := fm.MakeDirectory(ctx, ds.Path("reg"), dc, true); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	vdm := object.NewVirtualDiskManager(c.Client)
	task, err := vdm.CreateVirtualDisk(ctx, ds.Path("reg/plain.vmdk"), dc, &types.FileBackedVirtualDiskSpec{
		VirtualDiskSpec: types.VirtualDiskSpec{DiskType: "thin", AdapterType: "lsiLogic"},
		CapacityKb:      4096,
	})
	if err != nil {
		t.Fatalf("create vmdk: %v", err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("create vmdk task: %v", err)
	}
	m := vslm.NewObjectManager(c.Client)
	path := ds.NewURL("reg/plain.vmdk").String()
	obj, err := m.RegisterDisk(ctx, path, "registered")
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if obj.Config.Name != "registered" || obj.Config.CapacityInMB != 4 {
		t.Fatalf("registered: %+v", obj.Config)
	}
	if _, err := m.RegisterDisk(ctx, path, "again"); err == nil {
		t.Fatal("a disk registers once")
	}
	task, err = m.ReconcileDatastoreInventory(ctx, ds)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("reconcile task: %v", err)
	}
	if _, err := m.Retrieve(ctx, ds, obj.Config.Id.Id); err != nil {
		t.Fatalf("the file is there, the disk stays: %v", err)
	}
}
