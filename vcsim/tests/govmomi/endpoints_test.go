package govmomitest

// The side SOAP services (lookup service, storage policies, vSAN health) through govmomi's
// own lookup, pbm and vsan clients, and the behaviours that differ from vcsim: destroying a
// non-empty folder, a bad hardware version at vm.create, vm.option.info with a host outside
// the compute resource, maintenance mode with powered-on VMs.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/lookup"
	lookuptypes "github.com/vmware/govmomi/lookup/types"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/pbm"
	pbmmethods "github.com/vmware/govmomi/pbm/methods"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vsan"
	vsanmethods "github.com/vmware/govmomi/vsan/methods"
	vsantypes "github.com/vmware/govmomi/vsan/types"
)

// faultName is the type name of the vim fault a call or a task failed with ("" when err
// is not a fault). SOAP faults decode to values, task faults to pointers: the name covers
// both.
func faultName(err error) string {
	var f interface{}
	switch {
	case err == nil:
		return ""
	case soap.IsSoapFault(err):
		f = soap.ToSoapFault(err).VimFault()
	case soap.IsVimFault(err):
		f = soap.ToVimFault(err)
	default:
		if te, ok := err.(task.Error); ok {
			f = te.Fault()
		}
	}
	if f == nil {
		return ""
	}
	name := fmt.Sprintf("%T", f)
	return name[strings.LastIndex(name, ".")+1:]
}

// govc sso.service.ls: the lookup service lists the STS, the vCenter and the vAPI endpoint.
func TestEndpointsLookup(t *testing.T) {
	ctx, c := soapClient(t)
	lc, err := lookup.NewClient(ctx, c.Client)
	if err != nil {
		t.Fatalf("lookup.NewClient: %v", err)
	}
	all, err := lc.List(ctx, &lookuptypes.LookupServiceRegistrationFilter{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	kinds := map[string]bool{}
	for _, r := range all {
		kinds[r.ServiceType.Type] = true
	}
	for _, want := range []string{"cs.identity", "vcenterserver", "cs.vapi", "sso:sts"} {
		if !kinds[want] {
			t.Fatalf("no %s registration in %+v", want, kinds)
		}
	}
	vc, err := lc.List(ctx, &lookuptypes.LookupServiceRegistrationFilter{
		ServiceType:  &lookuptypes.LookupServiceRegistrationServiceType{Product: "com.vmware.cis", Type: "vcenterserver"},
		EndpointType: &lookuptypes.LookupServiceRegistrationEndpointType{Protocol: "vmomi", Type: "com.vmware.vim"},
	})
	if err != nil || len(vc) != 1 || len(vc[0].ServiceEndpoints) != 1 {
		t.Fatalf("vcenterserver: %+v %v", vc, err)
	}
	u := serverURL(t)
	if got := vc[0].ServiceEndpoints[0].Url; got != u.Scheme+"://"+u.Host+"/sdk" {
		t.Fatalf("the vCenter endpoint is %s", got)
	}
	sts := lookup.EndpointURL(ctx, c.Client, "/sts/STSService", &lookuptypes.LookupServiceRegistrationFilter{
		ServiceType:  &lookuptypes.LookupServiceRegistrationServiceType{Product: "com.vmware.cis", Type: "cs.identity"},
		EndpointType: &lookuptypes.LookupServiceRegistrationEndpointType{Protocol: "wsTrust", Type: "com.vmware.cis.cs.identity.sso"},
	})
	if !strings.HasSuffix(sts, "/sts/STSService/vsphere.local") {
		t.Fatalf("STS endpoint: %s", sts)
	}
	site, err := lc.SiteID(ctx)
	if err != nil || site == "" {
		t.Fatalf("GetSiteId: %q %v", site, err)
	}
}

// govc storage.policy.ls / storage.policy.info (-s: the compatible datastores).
func TestEndpointsPbm(t *testing.T) {
	ctx, c := soapClient(t)
	pc, err := pbm.NewClient(ctx, c.Client)
	if err != nil {
		t.Fatalf("pbm.NewClient: %v", err)
	}
	rtype := pbmtypes.PbmProfileResourceType{ResourceType: string(pbmtypes.PbmProfileResourceTypeEnumSTORAGE)}
	ids, err := pc.QueryProfile(ctx, rtype, string(pbmtypes.PbmProfileCategoryEnumREQUIREMENT))
	if err != nil || len(ids) < 4 {
		t.Fatalf("QueryProfile: %v %v", ids, err)
	}
	profiles, err := pc.RetrieveContent(ctx, ids)
	if err != nil {
		t.Fatalf("RetrieveContent: %v", err)
	}
	names := map[string]string{}
	for _, p := range profiles {
		names[p.GetPbmProfile().Name] = p.GetPbmProfile().ProfileId.UniqueId
	}
	for _, want := range []string{"vSAN Default Storage Policy", "VM Encryption Policy", "VVol No Requirements Policy", "Host-local PMem Default Storage Policy"} {
		if names[want] == "" {
			t.Fatalf("no %q in %v", want, names)
		}
	}
	vsanProfile := profiles[0].(*pbmtypes.PbmCapabilityProfile)
	if _, ok := vsanProfile.Constraints.(*pbmtypes.PbmCapabilitySubProfileConstraints); !ok && vsanProfile.Name == "vSAN Default Storage Policy" {
		t.Fatalf("vSAN policy constraints: %#v", vsanProfile.Constraints)
	}
	id, err := pc.ProfileIDByName(ctx, "VM Encryption Policy")
	if err != nil || id != names["VM Encryption Policy"] {
		t.Fatalf("ProfileIDByName: %q %v", id, err)
	}

	// storage.policy.info -s: every datastore satisfies the encryption policy, none the
	// vSAN one (the emulator's datastores are VMFS).
	dss, err := finder(t, ctx, c).DatastoreList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	var hubs []pbmtypes.PbmPlacementHub
	for _, ds := range dss {
		hubs = append(hubs, pbmtypes.PbmPlacementHub{HubType: "Datastore", HubId: ds.Reference().Value})
	}
	check := func(profile string) pbm.PlacementCompatibilityResult {
		req := []pbmtypes.BasePbmPlacementRequirement{&pbmtypes.PbmPlacementCapabilityProfileRequirement{ProfileId: pbmtypes.PbmProfileId{UniqueId: profile}}}
		res, err := pc.CheckRequirements(ctx, hubs, nil, req)
		if err != nil {
			t.Fatalf("CheckRequirements: %v", err)
		}
		return res
	}
	if res := check(names["VM Encryption Policy"]); len(res.CompatibleDatastores()) != len(dss) {
		t.Fatalf("encryption policy: %d of %d datastores compatible", len(res.CompatibleDatastores()), len(dss))
	}
	if res := check(names["vSAN Default Storage Policy"]); len(res.CompatibleDatastores()) != 0 || len(res.NonCompatibleDatastores()) != len(dss) {
		t.Fatalf("vSAN policy: %+v", res)
	}
	matching, err := pbmmethods.PbmQueryMatchingHub(ctx, pc, &pbmtypes.PbmQueryMatchingHub{
		This:    pc.ServiceContent.PlacementSolver,
		Profile: pbmtypes.PbmProfileId{UniqueId: names["VM Encryption Policy"]},
	})
	if err != nil || len(matching.Returnval) != len(dss) {
		t.Fatalf("PbmQueryMatchingHub: %+v %v", matching, err)
	}

	// storage.policy.create / rm.
	created, err := pc.CreateProfile(ctx, pbmtypes.PbmCapabilityProfileCreateSpec{
		Name:         "endpoints-gold",
		Category:     string(pbmtypes.PbmProfileCategoryEnumREQUIREMENT),
		ResourceType: rtype,
		Constraints: &pbmtypes.PbmCapabilitySubProfileConstraints{SubProfiles: []pbmtypes.PbmCapabilitySubProfile{{
			Name: "sp",
			Capability: []pbmtypes.PbmCapabilityInstance{{
				Id:         pbmtypes.PbmCapabilityMetadataUniqueId{Namespace: "VSAN", Id: "stripeWidth"},
				Constraint: []pbmtypes.PbmCapabilityConstraintInstance{{PropertyInstance: []pbmtypes.PbmCapabilityPropertyInstance{{Id: "stripeWidth", Value: int32(2)}}}},
			}},
		}}},
	})
	if err != nil {
		t.Fatalf("CreateProfile: %v", err)
	}
	got, err := pc.RetrieveContent(ctx, []pbmtypes.PbmProfileId{*created})
	if err != nil || len(got) != 1 || got[0].GetPbmProfile().Name != "endpoints-gold" {
		t.Fatalf("created policy: %+v %v", got, err)
	}
	if _, err := pc.CreateProfile(ctx, pbmtypes.PbmCapabilityProfileCreateSpec{Name: "endpoints-gold", ResourceType: rtype, Constraints: &pbmtypes.PbmCapabilityConstraints{}}); err == nil {
		t.Fatal("a duplicate policy name was accepted")
	}
	if out, err := pc.DeleteProfile(ctx, []pbmtypes.PbmProfileId{*created}); err != nil || len(out) != 0 {
		t.Fatalf("DeleteProfile: %+v %v", out, err)
	}
}

// An unknown pbm method is a SOAP fault (MethodNotFound), not an HTTP error; and the
// storage-policy service refuses a client without a session.
func TestEndpointsPbmFaults(t *testing.T) {
	ctx, c := soapClient(t)
	pc, err := pbm.NewClient(ctx, c.Client)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pc.QueryAssociatedEntity(ctx, pbmtypes.PbmProfileId{UniqueId: "no-such-policy"}, "virtualMachine")
	if faultName(err) != "InvalidArgument" {
		t.Fatalf("unknown policy: %s %v", faultName(err), err)
	}
	// A client of the same server without a login.
	u := *serverURL(t)
	u.User = nil
	bare, err := govmomi.NewClient(ctx, &u, true)
	if err != nil {
		t.Fatalf("a client without login: %v", err)
	}
	if _, err := pbm.NewClient(ctx, bare.Client); err != nil {
		// PbmRetrieveServiceContent needs the session too on vCenter.
		if faultName(err) != "NotAuthenticated" {
			t.Fatalf("no session: %s %v", faultName(err), err)
		}
	} else {
		t.Fatal("pbm answered without a session")
	}
}

// govc vsan.info: the cluster's vSAN configuration, a performance query and the health
// summary through the vsan client.
func TestEndpointsVsan(t *testing.T) {
	ctx, c := soapClient(t)
	clusters, err := finder(t, ctx, c).ClusterComputeResourceList(ctx, "*")
	if err != nil || len(clusters) == 0 {
		t.Fatalf("clusters: %v", err)
	}
	vc, err := vsan.NewClient(ctx, c.Client)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := vc.VsanClusterGetConfig(ctx, clusters[0].Reference())
	if err != nil {
		t.Fatalf("VsanClusterGetConfig: %v", err)
	}
	if cfg.Enabled == nil || *cfg.Enabled {
		t.Fatalf("vSAN config: %+v", cfg)
	}
	ref := clusters[0].Reference()
	if _, err := vc.VsanPerfQueryPerf(ctx, &ref, []vsantypes.VsanPerfQuerySpec{{EntityRefId: "cluster-domclient:*"}}); err != nil {
		t.Fatalf("VsanPerfQueryPerf: %v", err)
	}
	health, err := vsanmethods.VsanQueryVcClusterHealthSummary(ctx, vc, &vsantypes.VsanQueryVcClusterHealthSummary{
		This:    types.ManagedObjectReference{Type: "VsanVcClusterHealthSystem", Value: "vsan-cluster-health-system"},
		Cluster: &ref,
	})
	if err != nil || health.Returnval.OverallHealth == "" {
		t.Fatalf("VsanQueryVcClusterHealthSummary: %v", err)
	}
	// A method the service does not answer is a MethodNotFound fault, not an HTTP error.
	_, err = vsanmethods.VsanClusterReconfig(ctx, vc, &vsantypes.VsanClusterReconfig{
		This:    vsan.VsanVcClusterConfigSystemInstance,
		Cluster: ref,
	})
	if faultName(err) != "MethodNotFound" {
		t.Fatalf("VsanClusterReconfig: %s %v", faultName(err), err)
	}
	// An unknown cluster is ManagedObjectNotFound.
	_, err = vc.VsanQueryObjectIdentities(ctx, types.ManagedObjectReference{Type: "ClusterComputeResource", Value: "domain-c-none"})
	if faultName(err) != "ManagedObjectNotFound" {
		t.Fatalf("unknown cluster: %s %v", faultName(err), err)
	}
}

// govc object.destroy of a folder holding a subfolder and a VM: vCenter destroys them all;
// a powered-on VM inside makes it fail with the folder untouched.
func TestEndpointsFolderDestroyRecursive(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	folders, err := f.DefaultFolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	top, err := folders.CreateFolder(ctx, "endpoints-top")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := top.CreateFolder(ctx, "endpoints-sub")
	if err != nil {
		t.Fatal(err)
	}
	vm := createVM(ctx, t, c, f, sub, "endpoints-in-folder", "")
	task, err := vm.PowerOn(ctx)
	if err != nil || task.Wait(ctx) != nil {
		t.Fatalf("power on: %v", err)
	}
	task, err = top.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = task.Wait(ctx)
	if faultName(err) != "InvalidPowerState" {
		t.Fatalf("destroying a folder with a powered-on VM: %s %v", faultName(err), err)
	}
	if _, err := f.VirtualMachine(ctx, "endpoints-in-folder"); err != nil {
		t.Fatalf("the VM went although the destroy failed: %v", err)
	}
	task, err = vm.PowerOff(ctx)
	if err != nil || task.Wait(ctx) != nil {
		t.Fatalf("power off: %v", err)
	}
	task, err = top.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("destroying a non-empty folder: %v", err)
	}
	if _, err := f.VirtualMachine(ctx, "endpoints-in-folder"); err == nil {
		t.Fatal("the VM inside the destroyed folder is still found")
	}
	if _, err := f.Folder(ctx, "endpoints-top"); err == nil {
		t.Fatal("the destroyed folder is still found")
	}
}

// createVM creates a small VM in folder on the first cluster's pool.
func createVM(ctx context.Context, t *testing.T, c *govmomi.Client, f *find.Finder, folder *object.Folder, name, version string) *object.VirtualMachine {
	t.Helper()
	vm, err := tryCreateVM(ctx, c, f, folder, clusterPool(t, ctx, f), nil, name, version)
	if err != nil {
		t.Fatalf("vm.create %s: %v", name, err)
	}
	return vm
}

func tryCreateVM(ctx context.Context, c *govmomi.Client, f *find.Finder, folder *object.Folder, pool *object.ResourcePool, host *object.HostSystem, name, version string) (*object.VirtualMachine, error) {
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		return nil, err
	}
	spec := types.VirtualMachineConfigSpec{
		Name:     name,
		GuestId:  string(types.VirtualMachineGuestOsIdentifierOtherGuest),
		NumCPUs:  1,
		MemoryMB: 64,
		Version:  version,
		Files:    &types.VirtualMachineFileInfo{VmPathName: "[" + ds.Name() + "]"},
	}
	task, err := folder.CreateVM(ctx, spec, pool, host)
	if err != nil {
		return nil, err
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return nil, err
	}
	return object.NewVirtualMachine(c.Client, info.Result.(types.ManagedObjectReference)), nil
}

// govc vm.create -version: an unsupported hardware version is a VirtualHardwareVersionNotSupported
// fault, text that is no version a NotSupported fault; a supported one is kept.
func TestEndpointsBadHardwareVersion(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	folders, err := f.DefaultFolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pool := clusterPool(t, ctx, f)
	_, err = tryCreateVM(ctx, c, f, folders, pool, nil, "endpoints-vmx99", "vmx-99")
	if faultName(err) != "VirtualHardwareVersionNotSupported" {
		t.Fatalf("vmx-99: %s %v", faultName(err), err)
	}
	_, err = tryCreateVM(ctx, c, f, folders, pool, nil, "endpoints-garbage", "garbage")
	if faultName(err) != "NotSupported" {
		t.Fatalf("garbage version: %s %v", faultName(err), err)
	}
	vm, err := tryCreateVM(ctx, c, f, folders, pool, nil, "endpoints-vmx15", "vmx-15")
	if err != nil {
		t.Fatalf("vmx-15: %v", err)
	}
	var m mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.version"}, &m); err != nil || m.Config.Version != "vmx-15" {
		t.Fatalf("config.version: %+v %v", m.Config, err)
	}
	task, err := vm.Destroy(ctx)
	if err != nil || task.Wait(ctx) != nil {
		t.Fatalf("destroy: %v", err)
	}
}

// govc vm.option.info -host: a host outside the compute resource of the environment
// browser is an InvalidArgument fault (QueryConfigOptionEx and QueryConfigOption).
func TestEndpointsOptionInfoForeignHost(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	clusters, err := f.ClusterComputeResourceList(ctx, "*")
	if err != nil || len(clusters) == 0 {
		t.Fatalf("clusters: %v", err)
	}
	var cr mo.ComputeResource
	pc := property.DefaultCollector(c.Client)
	if err := pc.RetrieveOne(ctx, clusters[0].Reference(), []string{"environmentBrowser", "host"}, &cr); err != nil {
		t.Fatal(err)
	}
	inside := map[string]bool{}
	for _, h := range cr.Host {
		inside[h.Value] = true
	}
	hosts, err := f.HostSystemList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	var foreign *types.ManagedObjectReference
	for _, h := range hosts {
		if !inside[h.Reference().Value] {
			r := h.Reference()
			foreign = &r
			break
		}
	}
	if foreign == nil {
		t.Fatal("every host is in the first cluster: the default inventory has a standalone host")
	}
	own := cr.Host[0]
	if _, err := methods.QueryConfigOptionEx(ctx, c.Client, &types.QueryConfigOptionEx{This: *cr.EnvironmentBrowser, Spec: &types.EnvironmentBrowserConfigOptionQuerySpec{Host: &own}}); err != nil {
		t.Fatalf("a host of the cluster: %v", err)
	}
	_, err = methods.QueryConfigOptionEx(ctx, c.Client, &types.QueryConfigOptionEx{This: *cr.EnvironmentBrowser, Spec: &types.EnvironmentBrowserConfigOptionQuerySpec{Host: foreign}})
	if faultName(err) != "InvalidArgument" {
		t.Fatalf("QueryConfigOptionEx with a foreign host: %s %v", faultName(err), err)
	}
	_, err = methods.QueryConfigOption(ctx, c.Client, &types.QueryConfigOption{This: *cr.EnvironmentBrowser, Host: foreign})
	if faultName(err) != "InvalidArgument" {
		t.Fatalf("QueryConfigOption with a foreign host: %s %v", faultName(err), err)
	}
}

// govc host.maintenance.enter on a standalone host running a VM (no DRS to move it): with
// no timeout the task fails with InvalidState and the host stays out of maintenance.
func TestEndpointsMaintenanceWithPoweredOnVms(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	crs, err := f.ComputeResourceList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	var standalone *object.ComputeResource
	for _, cr := range crs {
		if cr.Reference().Type == "ComputeResource" {
			standalone = cr
			break
		}
	}
	if standalone == nil {
		t.Fatal("the default inventory has a standalone host")
	}
	hosts, err := standalone.Hosts(ctx)
	if err != nil || len(hosts) != 1 {
		t.Fatalf("standalone hosts: %v", err)
	}
	pool, err := standalone.ResourcePool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	folders, err := f.DefaultFolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := tryCreateVM(ctx, c, f, folders, pool, hosts[0], "endpoints-mm-vm", "")
	if err != nil {
		t.Fatalf("vm.create on the standalone host: %v", err)
	}
	task, err := vm.PowerOn(ctx)
	if err != nil || task.Wait(ctx) != nil {
		t.Fatalf("power on: %v", err)
	}
	task, err = hosts[0].EnterMaintenanceMode(ctx, 0, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = task.Wait(ctx)
	if faultName(err) != "InvalidState" {
		t.Fatalf("maintenance with a powered-on VM: %s %v", faultName(err), err)
	}
	var h mo.HostSystem
	if err := hosts[0].Properties(ctx, hosts[0].Reference(), []string{"runtime.inMaintenanceMode"}, &h); err != nil || h.Runtime.InMaintenanceMode {
		t.Fatalf("the host is in maintenance mode: %v", err)
	}
	task, err = vm.PowerOff(ctx)
	if err != nil || task.Wait(ctx) != nil {
		t.Fatalf("power off: %v", err)
	}
	task, err = vm.Destroy(ctx)
	if err != nil || task.Wait(ctx) != nil {
		t.Fatalf("destroy: %v", err)
	}
}
