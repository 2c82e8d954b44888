package govmomitest

// The pattern of CI scripts that start vcsim with `-dc 0` and build their own inventory
// with govc: datacenter.create, cluster.create, cluster.add, datastore.create -type local,
// vm.create, vm.info. Run against a server with an empty root folder.

import (
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func TestEmptyBuildByHand(t *testing.T) {
	ctx, c := soapClient(t)
	f := find.NewFinder(c.Client, true)
	if dcs, _ := f.DatacenterList(ctx, "*"); len(dcs) != 0 {
		t.Fatalf("-dc 0 serves no datacenter, found %d", len(dcs))
	}
	root := object.NewRootFolder(c.Client)
	dc, err := root.CreateDatacenter(ctx, "testdc")
	if err != nil {
		t.Fatalf("datacenter.create: %v", err)
	}
	f.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := folders.HostFolder.CreateCluster(ctx, "testcluster", types.ClusterConfigSpecEx{})
	if err != nil {
		t.Fatalf("cluster.create: %v", err)
	}
	spec := types.HostConnectSpec{HostName: "testhost", UserName: "user", Password: "pass", Force: true}
	task, err := cluster.AddHost(ctx, spec, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("cluster.add: %v", err)
	}
	host := object.NewHostSystem(c.Client, info.Result.(types.ManagedObjectReference))
	dss, err := host.ConfigManager().DatastoreSystem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dss.CreateLocalDatastore(ctx, "teststore", "/tmp/teststore")
	if err != nil {
		t.Fatalf("datastore.create -type local: %v", err)
	}
	pool, err := cluster.ResourcePool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vmSpec := types.VirtualMachineConfigSpec{
		Name:     "testvm",
		GuestId:  string(types.VirtualMachineGuestOsIdentifierOtherGuest),
		NumCPUs:  1,
		MemoryMB: 128,
		Files:    &types.VirtualMachineFileInfo{VmPathName: "[teststore]"},
	}
	task, err = folders.VmFolder.CreateVM(ctx, vmSpec, pool, host)
	if err != nil {
		t.Fatal(err)
	}
	info, err = task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("vm.create: %v", err)
	}
	vm, err := f.VirtualMachine(ctx, "testvm")
	if err != nil {
		t.Fatalf("find testvm: %v", err)
	}
	var props mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.uuid", "datastore", "runtime.host"}, &props); err != nil {
		t.Fatal(err)
	}
	if props.Config.Uuid == "" || len(props.Datastore) != 1 || props.Datastore[0] != ds.Reference() ||
		props.Runtime.Host == nil || *props.Runtime.Host != host.Reference() {
		t.Fatalf("vm.info: uuid %q, datastores %v (want %v), host %v (want %v)", props.Config.Uuid, props.Datastore, ds.Reference(), props.Runtime.Host, host.Reference())
	}
}
