package govmomitest

// Host storage, firewall, search and privilege calls as govc makes them: datastore.create /
// datastore.remove (HostDatastoreSystem), host.storage.info rescans, firewall rulesets,
// SearchIndex's FindAll*/FindByDatastorePath, AuthorizationManager privilege checks,
// generic service tickets and Storage DRS on a datastore cluster.

import (
	"context"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// standaloneHost is the default model's standalone host DC0_H0.
func standaloneHost(t *testing.T, ctx context.Context, c *govmomi.Client) *object.HostSystem {
	t.Helper()
	hosts, err := finder(t, ctx, c).HostSystemList(ctx, "*")
	if err != nil {
		t.Fatalf("hosts: %v", err)
	}
	for _, h := range hosts {
		if h.Name() == "DC0_H0" {
			return h
		}
	}
	t.Fatalf("no host DC0_H0 among %d hosts", len(hosts))
	return nil
}

// faultOf is the vim fault of a SOAP error (nil when err is not one).
func faultOf(err error) types.AnyType {
	if err == nil || !soap.IsSoapFault(err) {
		return nil
	}
	return soap.ToSoapFault(err).VimFault()
}

func TestHostStorageDatastores(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	host := standaloneHost(t, ctx, c)
	dss, err := host.ConfigManager().DatastoreSystem(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// govc datastore.create -type local
	local, err := dss.CreateLocalDatastore(ctx, "go-local", "/tmp/go-local")
	if err != nil {
		t.Fatalf("create local: %v", err)
	}
	if _, err := f.Datastore(ctx, "go-local"); err != nil {
		t.Fatalf("finder: %v", err)
	}
	_, err = dss.CreateLocalDatastore(ctx, "go-local", "/tmp/elsewhere")
	if _, ok := faultOf(err).(types.DuplicateName); !ok {
		t.Fatalf("duplicate: %v", err)
	}

	// govc datastore.create -type nfs
	nas, err := dss.CreateNasDatastore(ctx, types.HostNasVolumeSpec{
		RemoteHost: "nfs.example.com",
		RemotePath: "/export/go",
		LocalPath:  "go-nfs",
		AccessMode: string(types.HostMountModeReadWrite),
		Type:       string(types.HostFileSystemVolumeFileSystemTypeNFS),
	})
	if err != nil {
		t.Fatalf("create nfs: %v", err)
	}
	var ds mo.Datastore
	if err := nas.Properties(ctx, nas.Reference(), []string{"summary", "info", "host"}, &ds); err != nil {
		t.Fatal(err)
	}
	info, ok := ds.Info.(*types.NasDatastoreInfo)
	if !ok || info.Nas == nil || info.Nas.RemotePath != "/export/go" {
		t.Fatalf("nfs info: %#v", ds.Info)
	}
	if ds.Summary.Type != "NFS" || len(ds.Host) != 1 || ds.Host[0].Key != host.Reference() {
		t.Fatalf("nfs summary/mounts: %+v %+v", ds.Summary, ds.Host)
	}
	var hs mo.HostSystem
	if err := host.Properties(ctx, host.Reference(), []string{"datastore"}, &hs); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range hs.Datastore {
		found = found || r == nas.Reference()
	}
	if !found {
		t.Fatalf("host datastores %v lack %v", hs.Datastore, nas.Reference())
	}
	if _, err := methods.RefreshDatastore(ctx, c.Client, &types.RefreshDatastore{This: nas.Reference()}); err != nil {
		t.Fatalf("refresh datastore: %v", err)
	}

	// govc datastore.remove
	for _, d := range []*object.Datastore{local, nas} {
		if err := dss.Remove(ctx, d); err != nil {
			t.Fatalf("remove %v: %v", d.Reference(), err)
		}
	}
	if _, err := f.Datastore(ctx, "go-nfs"); err == nil {
		t.Fatal("go-nfs still found after remove")
	}
}

func TestHostStorageRescan(t *testing.T) {
	ctx, c := soapClient(t)
	host := standaloneHost(t, ctx, c)
	ss, err := host.ConfigManager().StorageSystem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.Refresh(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if err := ss.RescanAllHba(ctx); err != nil {
		t.Fatalf("rescan hba: %v", err)
	}
	if err := ss.RescanVmfs(ctx); err != nil {
		t.Fatalf("rescan vmfs: %v", err)
	}
	vm, err := finder(t, ctx, c).VirtualMachine(ctx, "DC0_H0_VM0")
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.RefreshStorageInfo(ctx); err != nil {
		t.Fatalf("refresh storage info: %v", err)
	}
}

func TestHostStorageFirewall(t *testing.T) {
	ctx, c := soapClient(t)
	host := standaloneHost(t, ctx, c)
	fw, err := host.ConfigManager().FirewallSystem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	enabled := func(id string) bool {
		info, err := fw.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range info.Ruleset {
			if r.Key == id {
				return r.Enabled
			}
		}
		t.Fatalf("no ruleset %s", id)
		return false
	}
	if err := fw.DisableRuleset(ctx, "nfsClient"); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if enabled("nfsClient") {
		t.Fatal("nfsClient still enabled")
	}
	if err := fw.EnableRuleset(ctx, "nfsClient"); err != nil {
		t.Fatalf("enable: %v", err)
	}
	if !enabled("nfsClient") {
		t.Fatal("nfsClient not enabled")
	}
	err = fw.EnableRuleset(ctx, "noSuchRuleset")
	if _, ok := faultOf(err).(types.NotFound); !ok {
		t.Fatalf("unknown ruleset: %v", err)
	}
	if err := fw.Refresh(ctx); err != nil {
		t.Fatalf("refresh firewall: %v", err)
	}
}

func TestHostStorageSearchIndex(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	si := object.NewSearchIndex(c.Client)
	hosts, err := si.FindAllByIp(ctx, dc, "127.0.0.1", false)
	if err != nil || len(hosts) == 0 {
		t.Fatalf("hosts by management IP: %v %v", hosts, err)
	}
	byName, err := si.FindAllByDnsName(ctx, dc, "DC0_H0", false)
	if err != nil || len(byName) != 1 {
		t.Fatalf("host by DNS name: %v %v", byName, err)
	}
	none, err := si.FindAllByIp(ctx, dc, "192.0.2.77", true)
	if err != nil || len(none) != 0 {
		t.Fatalf("VMs by an unused IP: %v %v", none, err)
	}
	vm, err := f.VirtualMachine(ctx, "DC0_H0_VM0")
	if err != nil {
		t.Fatal(err)
	}
	var m mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.files.vmPathName"}, &m); err != nil {
		t.Fatal(err)
	}
	ref, err := si.FindByDatastorePath(ctx, dc, m.Config.Files.VmPathName)
	if err != nil || ref == nil || ref.Reference() != vm.Reference() {
		t.Fatalf("by datastore path %q: %v %v", m.Config.Files.VmPathName, ref, err)
	}
	_, err = si.FindByDatastorePath(ctx, dc, "[NoSuchDS] x/x.vmx")
	if _, ok := faultOf(err).(types.InvalidDatastore); !ok {
		t.Fatalf("unknown datastore: %v", err)
	}
}

func TestHostStorageAuthorization(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	vm, err := f.VirtualMachine(ctx, "DC0_H0_VM0")
	if err != nil {
		t.Fatal(err)
	}
	am := object.NewAuthorizationManager(c.Client)
	us, err := c.SessionManager.UserSession(ctx)
	if err != nil || us == nil {
		t.Fatalf("user session: %v", err)
	}
	res, err := am.FetchUserPrivilegeOnEntities(ctx, []types.ManagedObjectReference{vm.Reference()}, us.UserName)
	if err != nil || len(res) != 1 {
		t.Fatalf("fetch: %v %v", res, err)
	}
	has := false
	for _, p := range res[0].Privileges {
		has = has || p == "VirtualMachine.Interact.PowerOn"
	}
	if !has {
		t.Fatalf("the administrator lacks PowerOn: %v", res[0].Privileges)
	}
	granted, err := am.HasPrivilegeOnEntity(ctx, vm.Reference(), us.Key, []string{"System.View", "No.Such.Privilege"})
	if err != nil || len(granted) != 2 || !granted[0] || granted[1] {
		t.Fatalf("has privilege: %v %v", granted, err)
	}
	ep, err := am.HasUserPrivilegeOnEntities(ctx, []types.ManagedObjectReference{vm.Reference()}, "nobody", []string{"System.View"})
	if err != nil || len(ep) != 1 || ep[0].PrivAvailability[0].IsGranted {
		t.Fatalf("a stranger's privileges: %+v %v", ep, err)
	}
	ticket, err := c.SessionManager.AcquireGenericServiceTicket(ctx, &types.SessionManagerHttpServiceRequestSpec{
		Method: "httpGet",
		Url:    c.URL().String(),
	})
	if err != nil || ticket.Id == "" {
		t.Fatalf("generic service ticket: %+v %v", ticket, err)
	}
}

func TestHostStorageStorageDrs(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pod, err := folders.DatastoreFolder.CreateStoragePod(ctx, "go-pod")
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	dss, err := standaloneHost(t, ctx, c).ConfigManager().DatastoreSystem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dss.CreateLocalDatastore(ctx, "go-pod-ds", "/tmp/go-pod-ds")
	if err != nil {
		t.Fatal(err)
	}
	task, err := pod.MoveInto(ctx, []types.ManagedObjectReference{ds.Reference()})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("move into pod: %v", err)
	}

	// govc datastore.cluster.* reaches it through the service content.
	if c.ServiceContent.StorageResourceManager == nil {
		t.Fatal("the service content has no storageResourceManager")
	}
	srm := object.NewStorageResourceManager(c.Client)

	// govc datastore.cluster.change -drs-enabled -drs-mode automated
	enabled := true
	task, err = srm.ConfigureStorageDrsForPod(ctx, pod, types.StorageDrsConfigSpec{
		PodConfigSpec: &types.StorageDrsPodConfigSpec{Enabled: &enabled, DefaultVmBehavior: "automated"},
	}, true)
	if err != nil {
		t.Fatalf("configure: %v", err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("configure task: %v", err)
	}
	var p mo.StoragePod
	pc := property.DefaultCollector(c.Client)
	if err := pc.RetrieveOne(ctx, pod.Reference(), []string{"podStorageDrsEntry"}, &p); err != nil {
		t.Fatal(err)
	}
	cfg := p.PodStorageDrsEntry.StorageDrsConfig.PodConfig
	if !cfg.Enabled || cfg.DefaultVmBehavior != "automated" {
		t.Fatalf("pod config: %+v", cfg)
	}

	pools, err := f.ResourcePoolList(ctx, "*")
	if err != nil || len(pools) == 0 {
		t.Fatalf("pools: %v", err)
	}
	poolRef := pools[0].Reference()
	podRef := pod.Reference()
	result, err := srm.RecommendDatastores(ctx, types.StoragePlacementSpec{
		Type:             string(types.StoragePlacementSpecPlacementTypeCreate),
		ResourcePool:     &poolRef,
		ConfigSpec:       &types.VirtualMachineConfigSpec{Name: "go-placed"},
		PodSelectionSpec: types.StorageDrsPodSelectionSpec{StoragePod: &podRef},
	})
	if err != nil || len(result.Recommendations) == 0 {
		t.Fatalf("recommend: %+v %v", result, err)
	}
	action, ok := result.Recommendations[0].Action[0].(*types.StoragePlacementAction)
	if !ok || action.Destination != ds.Reference() {
		t.Fatalf("recommended action: %#v", result.Recommendations[0].Action[0])
	}
}
