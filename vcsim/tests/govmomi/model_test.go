package govmomitest

// vcsim's model and counting (`vicbed vcsim`): with vcsim's default flags, govmomi's
// find.Finder sees exactly the inventory govmomi's simulator.VPX() builds, and each model
// VM carries a CD-ROM, so tests written against vcsim's model hold.

import (
	"context"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type named interface {
	Reference() types.ManagedObjectReference
	ObjectName(context.Context) (string, error)
}

func sortedNames[T named](t *testing.T, ctx context.Context, list []T) []string {
	t.Helper()
	var names []string
	for _, o := range list {
		n, err := o.ObjectName(ctx)
		if err != nil {
			t.Fatalf("name of %s: %v", o.Reference(), err)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func expectNames(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// TestModelDefaultInventory lists vcsim's default inventory with find.Finder.
func TestModelDefaultInventory(t *testing.T) {
	ctx, c := soapClient(t)
	all := find.NewFinder(c.Client, true)
	dcs, err := all.DatacenterList(ctx, "*")
	if err != nil {
		t.Fatalf("datacenters: %v", err)
	}
	expectNames(t, "datacenters", sortedNames(t, ctx, dcs), "DC0")

	f := finder(t, ctx, c)
	clusters, err := f.ClusterComputeResourceList(ctx, "*")
	if err != nil {
		t.Fatalf("clusters: %v", err)
	}
	expectNames(t, "clusters", sortedNames(t, ctx, clusters), "DC0_C0")

	hosts, err := f.HostSystemList(ctx, "*")
	if err != nil {
		t.Fatalf("hosts: %v", err)
	}
	expectNames(t, "hosts", sortedNames(t, ctx, hosts), "DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2", "DC0_H0")

	vms, err := f.VirtualMachineList(ctx, "*")
	if err != nil {
		t.Fatalf("VMs: %v", err)
	}
	expectNames(t, "VMs", sortedNames(t, ctx, vms), "DC0_H0_VM0", "DC0_H0_VM1", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1")

	dss, err := f.DatastoreList(ctx, "*")
	if err != nil {
		t.Fatalf("datastores: %v", err)
	}
	expectNames(t, "datastores", sortedNames(t, ctx, dss), "LocalDS_0")

	nets, err := f.NetworkList(ctx, "*")
	if err != nil {
		t.Fatalf("networks: %v", err)
	}
	var netNames []string
	for _, n := range nets {
		netNames = append(netNames, path.Base(n.GetInventoryPath()))
	}
	for _, want := range []string{"VM Network", "DVS0", "DC0_DVPG0"} {
		found := false
		for _, n := range netNames {
			found = found || n == want
		}
		if !found {
			t.Errorf("networks %v lack %q", netNames, want)
		}
	}
	if _, err := f.Network(ctx, "DC0_DVPG0"); err != nil {
		t.Errorf("DC0_DVPG0: %v", err)
	}

	pools, err := f.ResourcePoolList(ctx, "*")
	if err != nil {
		t.Fatalf("pools: %v", err)
	}
	if len(pools) != 2 {
		t.Errorf("root pools: got %d, want 2 (the cluster's and the standalone host's)", len(pools))
	}

	// Two VMs per resource pool: both pools hold two.
	for _, rp := range []string{"/DC0/host/DC0_C0/Resources", "/DC0/host/DC0_H0/Resources"} {
		pool, err := f.ResourcePool(ctx, rp)
		if err != nil {
			t.Fatalf("%s: %v", rp, err)
		}
		var p mo.ResourcePool
		if err := pool.Properties(ctx, pool.Reference(), []string{"vm"}, &p); err != nil {
			t.Fatalf("%s vm: %v", rp, err)
		}
		if len(p.Vm) != 2 {
			t.Errorf("%s holds %d VMs, want 2", rp, len(p.Vm))
		}
	}
}

// TestModelVmsCarryACdrom checks each default VM's devices: a CD-ROM on an IDE controller,
// a disk and a NIC backed by the first port group, as vcsim's model VMs.
func TestModelVmsCarryACdrom(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	vms, err := f.VirtualMachineList(ctx, "*")
	if err != nil {
		t.Fatalf("VMs: %v", err)
	}
	for _, vm := range vms {
		devices, err := vm.Device(ctx)
		if err != nil {
			t.Fatalf("%s devices: %v", vm.InventoryPath, err)
		}
		cdroms := devices.SelectByType((*types.VirtualCdrom)(nil))
		if len(cdroms) != 1 {
			t.Errorf("%s: %d CD-ROMs, want 1", vm.InventoryPath, len(cdroms))
			continue
		}
		if ide := devices.FindByKey(cdroms[0].GetVirtualDevice().ControllerKey); ide == nil {
			t.Errorf("%s: the CD-ROM's controller is missing", vm.InventoryPath)
		} else if _, ok := ide.(*types.VirtualIDEController); !ok {
			t.Errorf("%s: the CD-ROM sits on %T, want an IDE controller", vm.InventoryPath, ide)
		}
		if cd, err := devices.FindCdrom(""); err != nil || cd == nil {
			t.Errorf("%s: FindCdrom: %v", vm.InventoryPath, err)
		}
		if len(devices.SelectByType((*types.VirtualDisk)(nil))) != 1 {
			t.Errorf("%s: want one disk", vm.InventoryPath)
		}
		nics := devices.SelectByType((*types.VirtualEthernetCard)(nil))
		if len(nics) != 1 {
			t.Errorf("%s: %d NICs, want 1", vm.InventoryPath, len(nics))
			continue
		}
		summary := devices.Name(nics[0])
		info := nics[0].GetVirtualDevice().DeviceInfo
		if info == nil || !strings.Contains(info.GetDescription().Summary, "DC0_DVPG0") {
			t.Errorf("%s: NIC %s should be on DC0_DVPG0 (%+v)", vm.InventoryPath, summary, info)
		}
	}
}

// TestModelPowerState: vcsim's -autostart (on by default) powers the model VMs on.
func TestModelPowerState(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	vms, err := f.VirtualMachineList(ctx, "*")
	if err != nil {
		t.Fatalf("VMs: %v", err)
	}
	for _, vm := range vms {
		state, err := vm.PowerState(ctx)
		if err != nil {
			t.Fatalf("%s power state: %v", vm.InventoryPath, err)
		}
		if state != types.VirtualMachinePowerStatePoweredOn {
			t.Errorf("%s is %s, want poweredOn", vm.InventoryPath, state)
		}
	}
}

// TestModelEsxInventory: vcsim's -esx model (run against a HostAgent server only).
func TestModelEsxInventory(t *testing.T) {
	ctx, c := soapClient(t)
	if c.IsVC() {
		t.Fatal("the -esx model is an ESXi host agent")
	}
	f := finder(t, ctx, c)
	hosts, err := f.HostSystemList(ctx, "*")
	if err != nil {
		t.Fatalf("hosts: %v", err)
	}
	if len(hosts) != 1 {
		t.Errorf("hosts: got %d, want 1", len(hosts))
	}
	vms, err := f.VirtualMachineList(ctx, "*")
	if err != nil {
		t.Fatalf("VMs: %v", err)
	}
	expectNames(t, "VMs", sortedNames(t, ctx, vms), "ha-host_VM0", "ha-host_VM1")
	dss, err := f.DatastoreList(ctx, "*")
	if err != nil {
		t.Fatalf("datastores: %v", err)
	}
	expectNames(t, "datastores", sortedNames(t, ctx, dss), "LocalDS_0")
	for _, vm := range vms {
		devices, err := vm.Device(ctx)
		if err != nil {
			t.Fatalf("%s devices: %v", vm.InventoryPath, err)
		}
		if len(devices.SelectByType((*types.VirtualCdrom)(nil))) != 1 {
			t.Errorf("%s: want one CD-ROM", vm.InventoryPath)
		}
	}
}
