package govmomitest

// The properties govc dereferences (and crashed on when they were missing): device labels of
// VMs made by CreateVM_Task, config.latencySensitivity, datastore file times (datastore.ls
// -l), the host's datastore/storage/firewall systems and vmk0 (host.info, host.storage.info,
// firewall.ruleset.find), port-group portKeys and the switch's productInfo (dvs.portgroup.info,
// ls -l on a DVS), and the session list (session.ls).

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// govc vm.create -disk 1G -net "VM Network", then device.ls / vm.info.
func TestPropsCreatedVmDeviceInfo(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	folders, err := mustDatacenterFolders(t, f)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	net, err := f.Network(ctx, "VM Network")
	if err != nil {
		t.Fatalf("VM Network: %v", err)
	}
	backing, err := net.EthernetCardBackingInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("lsilogic")
	if err != nil {
		t.Fatal(err)
	}
	devices = append(devices, scsi)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), ds.Reference(), "")
	disk.CapacityInKB = 1024 * 1024
	devices = append(devices, disk)
	nic, err := devices.CreateEthernetCard("e1000", backing)
	if err != nil {
		t.Fatal(err)
	}
	devices = append(devices, nic)
	changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		t.Fatal(err)
	}
	spec := types.VirtualMachineConfigSpec{
		Name:         "props-vm",
		NumCPUs:      1,
		MemoryMB:     128,
		GuestId:      "otherGuest",
		Files:        &types.VirtualMachineFileInfo{VmPathName: "[" + ds.Name() + "]"},
		DeviceChange: changes,
	}
	task, err := folders.VmFolder.CreateVM(ctx, spec, clusterPool(t, ctx, f), nil)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("create task: %v", err)
	}
	vm := object.NewVirtualMachine(c.Client, info.Result.(types.ManagedObjectReference))
	t.Cleanup(func() {
		if task, err := vm.Destroy(ctx); err == nil {
			_ = task.Wait(ctx)
		}
	})
	list, err := vm.Device(ctx)
	if err != nil {
		t.Fatalf("devices: %v", err)
	}
	if len(list) != 3 {
		t.Fatalf("devices: %d", len(list))
	}
	for _, d := range list {
		di := d.GetVirtualDevice().DeviceInfo
		if di == nil || di.GetDescription().Label == "" || di.GetDescription().Summary == "" {
			t.Fatalf("%s (%T) has no deviceInfo", list.Name(d), d)
		}
	}
	var mvm mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.latencySensitivity"}, &mvm); err != nil {
		t.Fatal(err)
	}
	if mvm.Config == nil || mvm.Config.LatencySensitivity == nil || mvm.Config.LatencySensitivity.Level != types.LatencySensitivitySensitivityLevelNormal {
		t.Fatalf("latencySensitivity: %+v", mvm.Config)
	}
}

// mustDatacenterFolders is the default datacenter's folders.
func mustDatacenterFolders(t *testing.T, f interface {
	DefaultDatacenter(ctx context.Context) (*object.Datacenter, error)
}) (*object.DatacenterFolders, error) {
	t.Helper()
	ctx := context.Background()
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		return nil, err
	}
	return dc.Folders(ctx)
}

// govc datastore.ls -l: every entry has a modification time.
func TestPropsDatastoreModificationTimes(t *testing.T) {
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
	if err := object.NewFileManager(c.Client).MakeDirectory(ctx, ds.Path("props-dir"), dc, true); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	b, err := ds.Browser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := types.HostDatastoreBrowserSearchSpec{
		Details: &types.FileQueryFlags{FileType: true, FileSize: true, Modification: true, FileOwner: types.NewBool(true)},
	}
	task, err := b.SearchDatastore(ctx, ds.Path(""), &spec)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	res := info.Result.(types.HostDatastoreBrowserSearchResults)
	if len(res.File) == 0 {
		t.Fatal("the datastore lists entries")
	}
	for _, file := range res.File {
		fi := file.GetFileInfo()
		if fi.Modification == nil {
			t.Fatalf("%s has no modification time", fi.Path)
		}
	}
}

// govc host.info / host.storage.info / firewall.ruleset.find / host.vnic.info.
func TestPropsHostManagers(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	hosts, err := f.HostSystemList(ctx, "*")
	if err != nil || len(hosts) == 0 {
		t.Fatalf("hosts: %v", err)
	}
	host := hosts[0]
	cm := host.ConfigManager()
	dss, err := cm.DatastoreSystem(ctx)
	if err != nil {
		t.Fatalf("datastoreSystem: %v", err)
	}
	var mdss mo.HostDatastoreSystem
	if err := dss.Properties(ctx, dss.Reference(), []string{"datastore", "capabilities"}, &mdss); err != nil {
		t.Fatal(err)
	}
	if len(mdss.Datastore) == 0 {
		t.Fatal("the datastore system lists the host's datastores")
	}
	ss, err := cm.StorageSystem(ctx)
	if err != nil {
		t.Fatalf("storageSystem: %v", err)
	}
	var mss mo.HostStorageSystem
	if err := ss.Properties(ctx, ss.Reference(), []string{"storageDeviceInfo", "fileSystemVolumeInfo"}, &mss); err != nil {
		t.Fatal(err)
	}
	if mss.StorageDeviceInfo == nil || len(mss.StorageDeviceInfo.ScsiLun) == 0 || len(mss.StorageDeviceInfo.HostBusAdapter) == 0 {
		t.Fatalf("storageDeviceInfo: %+v", mss.StorageDeviceInfo)
	}
	if mss.StorageDeviceInfo.MultipathInfo == nil || len(mss.FileSystemVolumeInfo.MountInfo) == 0 {
		t.Fatalf("multipath/volumes: %+v %+v", mss.StorageDeviceInfo.MultipathInfo, mss.FileSystemVolumeInfo)
	}
	fw, err := cm.FirewallSystem(ctx)
	if err != nil {
		t.Fatalf("firewallSystem: %v", err)
	}
	fwInfo, err := fw.Info(ctx)
	if err != nil || fwInfo == nil || len(fwInfo.Ruleset) == 0 {
		t.Fatalf("firewall: %+v %v", fwInfo, err)
	}
	rules := object.HostFirewallRulesetList(fwInfo.Ruleset).ByRule(types.HostFirewallRule{
		Port: 22, Direction: types.HostFirewallRuleDirectionInbound, PortType: types.HostFirewallRulePortTypeDst, Protocol: "tcp",
	})
	if len(rules) == 0 {
		t.Fatal("an ssh ruleset")
	}
	var mh mo.HostSystem
	if err := host.Properties(ctx, host.Reference(), []string{"config.network.vnic", "config.product"}, &mh); err != nil {
		t.Fatal(err)
	}
	if mh.Config == nil || mh.Config.Network == nil || len(mh.Config.Network.Vnic) == 0 {
		t.Fatalf("vnic: %+v", mh.Config)
	}
	vnic := mh.Config.Network.Vnic[0]
	if vnic.Device != "vmk0" || vnic.Spec.Ip == nil || vnic.Spec.Ip.IpAddress == "" {
		t.Fatalf("vmk0: %+v", vnic)
	}
}

// govc ls -l on a switch, dvs.portgroup.info: productInfo and portKeys matching FetchDVPorts.
func TestPropsDvsProductAndPortKeys(t *testing.T) {
	ctx, c := soapClient(t)
	m := view.NewManager(c.Client)
	v, err := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VmwareDistributedVirtualSwitch"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = v.Destroy(ctx) }()
	var switches []mo.VmwareDistributedVirtualSwitch
	if err := v.Retrieve(ctx, []string{"VmwareDistributedVirtualSwitch"}, []string{"summary", "portgroup"}, &switches); err != nil {
		t.Fatal(err)
	}
	if len(switches) == 0 {
		t.Fatal("the default inventory has a switch")
	}
	sw := switches[0]
	if sw.Summary.ProductInfo == nil || sw.Summary.ProductInfo.Vendor == "" {
		t.Fatalf("productInfo: %+v", sw.Summary.ProductInfo)
	}
	pc := property.DefaultCollector(c.Client)
	var pgs []mo.DistributedVirtualPortgroup
	if err := pc.Retrieve(ctx, sw.Portgroup, []string{"key", "portKeys"}, &pgs); err != nil {
		t.Fatal(err)
	}
	dvs := object.NewDistributedVirtualSwitch(c.Client, sw.Self)
	total := 0
	for _, pg := range pgs {
		ports, err := dvs.FetchDVPorts(ctx, &types.DistributedVirtualSwitchPortCriteria{
			PortgroupKey: []string{pg.Key},
			Inside:       types.NewBool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ports) != len(pg.PortKeys) {
			t.Fatalf("%s: %d ports, %d portKeys", pg.Key, len(ports), len(pg.PortKeys))
		}
		for i, p := range ports {
			if p.Key != pg.PortKeys[i] || p.PortgroupKey != pg.Key {
				t.Fatalf("%s: port %s, portKeys %s", pg.Key, p.Key, pg.PortKeys[i])
			}
		}
		total += len(pg.PortKeys)
	}
	if total == 0 {
		t.Fatal("port groups have ports")
	}
}

// govc session.ls: the live sessions with who, when and from where.
func TestPropsSessionList(t *testing.T) {
	ctx, c := soapClient(t)
	var sm mo.SessionManager
	pc := property.DefaultCollector(c.Client)
	if err := pc.RetrieveOne(ctx, *c.ServiceContent.SessionManager, []string{"sessionList", "currentSession"}, &sm); err != nil {
		t.Fatal(err)
	}
	if sm.CurrentSession == nil {
		t.Fatal("currentSession")
	}
	mine := false
	for _, s := range sm.SessionList {
		if s.Key == "" || s.UserName == "" || s.LoginTime.IsZero() || s.LastActiveTime.IsZero() || s.IpAddress == "" || s.UserAgent == "" {
			t.Fatalf("session: %+v", s)
		}
		mine = mine || s.Key == sm.CurrentSession.Key
	}
	if !mine {
		t.Fatalf("the caller's session is listed: %+v", sm.SessionList)
	}
}
