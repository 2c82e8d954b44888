package govmomitest

// Content-library deployments through govmomi's vapi/vcenter client: an OVF package
// uploaded into a library item and deployed into a VM (govc library.deploy), an OVF item
// made from a VM (vcenter.Manager.CreateOVF) and deployed back, and VM templates kept in a
// library (create, get, deploy, check-out and check-in).

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"path"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/vcenter"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
)

// dropLibrary deletes library `id` when the test ends (vapi_test.go expects none left).
func dropLibrary(t *testing.T, ctx context.Context, m *library.Manager, id string) {
	t.Cleanup(func() {
		if err := m.DeleteLibrary(ctx, &library.Library{ID: id}); err != nil {
			t.Errorf("delete library %s: %v", id, err)
		}
	})
}

// deployLibrary makes a local library `name` on the default datastore, deleted at the end.
func deployLibrary(t *testing.T, ctx context.Context, m *library.Manager, f *find.Finder, name string) string {
	t.Helper()
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatalf("datastore: %v", err)
	}
	id, err := m.CreateLibrary(ctx, library.Library{
		Name: name, Type: "LOCAL",
		Storage: []library.StorageBackings{{DatastoreID: ds.Reference().Value, Type: "DATASTORE"}},
	})
	if err != nil {
		t.Fatalf("create library: %v", err)
	}
	dropLibrary(t, ctx, m, id)
	return id
}

// uploadItem uploads `files` (name → bytes) into a new item of type `ty`, as govc library.import.
func uploadItem(t *testing.T, ctx context.Context, rc *rest.Client, m *library.Manager, lib, name, ty string, files map[string][]byte) string {
	t.Helper()
	itemID, err := m.CreateLibraryItem(ctx, library.Item{Name: name, Type: ty, LibraryID: lib})
	if err != nil {
		t.Fatalf("create item: %v", err)
	}
	sid, err := m.CreateLibraryItemUpdateSession(ctx, library.Session{LibraryItemID: itemID})
	if err != nil {
		t.Fatalf("update session: %v", err)
	}
	for n, data := range files {
		info, err := m.AddLibraryItemFile(ctx, sid, library.UpdateFile{Name: n, SourceType: "PUSH", Size: int64(len(data))})
		if err != nil || info.UploadEndpoint == nil {
			t.Fatalf("add file %s: %+v %v", n, info, err)
		}
		u, err := url.Parse(info.UploadEndpoint.URI)
		if err != nil {
			t.Fatalf("upload URI: %v", err)
		}
		p := soap.DefaultUpload
		p.ContentLength = int64(len(data))
		if err := rc.Upload(ctx, bytes.NewReader(data), u, &p); err != nil {
			t.Fatalf("upload %s: %v", n, err)
		}
	}
	if err := m.CompleteLibraryItemUpdateSession(ctx, sid); err != nil {
		t.Fatalf("complete: %v", err)
	}
	return itemID
}

// vmHardware reads a VM's CPU count and memory.
func vmHardware(t *testing.T, ctx context.Context, f *find.Finder, name string) (*object.VirtualMachine, mo.VirtualMachine) {
	t.Helper()
	vm, err := f.VirtualMachine(ctx, name)
	if err != nil {
		t.Fatalf("find %s: %v", name, err)
	}
	var o mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config", "runtime"}, &o); err != nil {
		t.Fatalf("properties of %s: %v", name, err)
	}
	return vm, o
}

func TestVapiDeployOvfItem(t *testing.T) {
	ctx, c := soapClient(t)
	rc := restClient(t, ctx, c)
	m := library.NewManager(rc)
	f := finder(t, ctx, c)
	vc := vcenter.NewManager(rc)
	lib := deployLibrary(t, ctx, m, f, "deploy-ovf-lib")
	disk := bytes.Repeat([]byte("d"), 1024)
	item := uploadItem(t, ctx, rc, m, lib, "tiny", "ovf", map[string][]byte{
		"tiny.ovf": []byte(tinyOVF), "tiny-disk1.vmdk": disk,
	})
	pool := clusterPool(t, ctx, f)

	summary, err := vc.FilterLibraryItem(ctx, item, vcenter.FilterRequest{Target: vcenter.Target{ResourcePoolID: pool.Reference().Value}})
	if err != nil || summary.Name != "tiny" || len(summary.Networks) != 1 || summary.Networks[0] != "VM Network" {
		t.Fatalf("filter: %+v %v", summary, err)
	}

	ref, err := vc.DeployLibraryItem(ctx, item, vcenter.Deploy{
		DeploymentSpec: vcenter.DeploymentSpec{Name: "tiny-deployed", AcceptAllEULA: true},
		Target:         vcenter.Target{ResourcePoolID: pool.Reference().Value},
	})
	if err != nil || ref.Type != "VirtualMachine" {
		t.Fatalf("deploy: %v %v", ref, err)
	}
	vm, o := vmHardware(t, ctx, f, "tiny-deployed")
	if vm.Reference() != *ref || o.Config.Hardware.NumCPU != 2 || o.Config.Hardware.MemoryMB != 64 {
		t.Fatalf("deployed VM: %v cpu %d mem %d", vm.Reference(), o.Config.Hardware.NumCPU, o.Config.Hardware.MemoryMB)
	}
	// The same name again fails as a deployment, not as a transport error.
	if _, err := vc.DeployLibraryItem(ctx, item, vcenter.Deploy{
		DeploymentSpec: vcenter.DeploymentSpec{Name: "tiny-deployed"},
		Target:         vcenter.Target{ResourcePoolID: pool.Reference().Value},
	}); err == nil {
		t.Fatal("a duplicate VM name is refused")
	}
	// No such item, no pool: vAPI errors.
	if _, err := vc.DeployLibraryItem(ctx, "no-such-item", vcenter.Deploy{Target: vcenter.Target{ResourcePoolID: pool.Reference().Value}}); err == nil {
		t.Fatal("deploying a missing item fails")
	}
	if _, err := vc.DeployLibraryItem(ctx, item, vcenter.Deploy{}); err == nil {
		t.Fatal("deploying without a target fails")
	}

	// The /api form answers the DeploymentResult bare.
	var res vcenter.Deployment
	rawBody := `{"target":{"resource_pool_id":"` + pool.Reference().Value + `"},"deployment_spec":{"name":"tiny-api","accept_all_EULA":true}}`
	status, body := rawCall(t, http.MethodPost, "/api/vcenter/ovf/library-item/"+item+"?action=deploy", rc.SessionID(), nil, rawBody)
	if status != http.StatusOK || !bytes.Contains(body, []byte(`"succeeded":true`)) {
		t.Fatalf("/api deploy: %d %s (%v)", status, body, res)
	}
	if _, err := f.VirtualMachine(ctx, "tiny-api"); err != nil {
		t.Fatalf("/api deployed VM: %v", err)
	}
}

func TestVapiDeployCreateOvf(t *testing.T) {
	ctx, c := soapClient(t)
	rc := restClient(t, ctx, c)
	m := library.NewManager(rc)
	f := finder(t, ctx, c)
	vc := vcenter.NewManager(rc)
	lib := deployLibrary(t, ctx, m, f, "deploy-create-lib")
	vms, err := f.VirtualMachineList(ctx, "*")
	if err != nil || len(vms) == 0 {
		t.Fatalf("vms: %v", err)
	}
	src, so := vmHardware(t, ctx, f, vms[0].InventoryPath)

	id, err := vc.CreateOVF(ctx, vcenter.OVF{
		Spec:   vcenter.CreateSpec{Name: "from-vm", Description: "exported"},
		Source: vcenter.ResourceID{Value: src.Reference().Value},
		Target: vcenter.LibraryTarget{LibraryID: lib},
	})
	if err != nil || id == "" {
		t.Fatalf("create OVF: %q %v", id, err)
	}
	item, err := m.GetLibraryItem(ctx, id)
	if err != nil || item.Type != "ovf" || item.Name != "from-vm" {
		t.Fatalf("item: %+v %v", item, err)
	}
	files, err := m.ListLibraryItemFiles(ctx, id)
	found := false
	for _, fi := range files {
		if path.Ext(fi.Name) == ".ovf" {
			found = true
		}
	}
	if err != nil || !found {
		t.Fatalf("item files: %+v %v", files, err)
	}
	if _, err := vc.CreateOVF(ctx, vcenter.OVF{
		Spec: vcenter.CreateSpec{Name: "from-vm"}, Source: vcenter.ResourceID{Value: src.Reference().Value},
		Target: vcenter.LibraryTarget{LibraryID: lib},
	}); err == nil {
		t.Fatal("a duplicate item name is refused")
	}

	pool := clusterPool(t, ctx, f)
	ref, err := vc.DeployLibraryItem(ctx, id, vcenter.Deploy{
		DeploymentSpec: vcenter.DeploymentSpec{Name: "from-vm-copy"},
		Target:         vcenter.Target{ResourcePoolID: pool.Reference().Value},
	})
	if err != nil {
		t.Fatalf("deploy the created item: %v", err)
	}
	_, o := vmHardware(t, ctx, f, "from-vm-copy")
	if o.Self != *ref || o.Config.Hardware.NumCPU != so.Config.Hardware.NumCPU || o.Config.Hardware.MemoryMB != so.Config.Hardware.MemoryMB {
		t.Fatalf("copy: cpu %d/%d mem %d/%d", o.Config.Hardware.NumCPU, so.Config.Hardware.NumCPU, o.Config.Hardware.MemoryMB, so.Config.Hardware.MemoryMB)
	}
}

func TestVapiDeployTemplate(t *testing.T) {
	ctx, c := soapClient(t)
	rc := restClient(t, ctx, c)
	m := library.NewManager(rc)
	f := finder(t, ctx, c)
	vc := vcenter.NewManager(rc)
	lib := deployLibrary(t, ctx, m, f, "deploy-vmtx-lib")
	vms, err := f.VirtualMachineList(ctx, "*")
	if err != nil || len(vms) == 0 {
		t.Fatalf("vms: %v", err)
	}
	src, so := vmHardware(t, ctx, f, vms[0].InventoryPath)
	pool := clusterPool(t, ctx, f)

	id, err := vc.CreateTemplate(ctx, vcenter.Template{
		Name: "vmtx-1", Library: lib, SourceVM: src.Reference().Value,
		Placement: &vcenter.Placement{ResourcePool: pool.Reference().Value},
	})
	if err != nil || id == "" {
		t.Fatalf("create template: %q %v", id, err)
	}
	item, err := m.GetLibraryItem(ctx, id)
	if err != nil || item.Type != "vm-template" {
		t.Fatalf("template item: %+v %v", item, err)
	}
	var info struct {
		GuestOS    string `json:"guest_OS"`
		VMTemplate string `json:"vm_template"`
		CPU        struct {
			Count int32 `json:"count"`
		} `json:"cpu"`
	}
	rawJSON(t, http.MethodGet, "/api/vcenter/vm-template/library-items/"+id, rc.SessionID(), http.StatusOK, &info)
	if info.VMTemplate == "" || info.CPU.Count != so.Config.Hardware.NumCPU {
		t.Fatalf("template info: %+v", info)
	}
	tmpl, to := vmHardware(t, ctx, f, "vmtx-1")
	if !to.Config.Template || tmpl.Reference().Value != info.VMTemplate {
		t.Fatalf("the template VM: %v template=%v", tmpl.Reference(), to.Config.Template)
	}

	ref, err := vc.DeployTemplateLibraryItem(ctx, id, vcenter.DeployTemplate{
		Name: "vmtx-deployed", Placement: &vcenter.Placement{ResourcePool: pool.Reference().Value},
	})
	if err != nil {
		t.Fatalf("deploy template: %v", err)
	}
	_, do := vmHardware(t, ctx, f, "vmtx-deployed")
	if do.Self != *ref || do.Config.Template || do.Config.Hardware.MemoryMB != so.Config.Hardware.MemoryMB {
		t.Fatalf("deployed: %v template=%v", do.Self, do.Config.Template)
	}
	if _, err := vc.DeployTemplateLibraryItem(ctx, id, vcenter.DeployTemplate{Name: "no-place"}); err == nil {
		t.Fatal("deploying without a placement fails")
	}

	// Check out, check in: the checked-out VM becomes the template.
	out, err := vc.CheckOut(ctx, id, &vcenter.CheckOut{Name: "vmtx-edit", Placement: &vcenter.Placement{ResourcePool: pool.Reference().Value}})
	if err != nil {
		t.Fatalf("check out: %v", err)
	}
	if _, err := vc.CheckIn(ctx, id, out, &vcenter.CheckIn{Message: "edited"}); err != nil {
		t.Fatalf("check in: %v", err)
	}
	rawJSON(t, http.MethodGet, "/api/vcenter/vm-template/library-items/"+id, rc.SessionID(), http.StatusOK, &info)
	if info.VMTemplate != out.Value {
		t.Fatalf("after check-in the template is %s, want %s", info.VMTemplate, out.Value)
	}

	// Deleting the item removes its template.
	if err := m.DeleteLibraryItem(ctx, &library.Item{ID: id}); err != nil {
		t.Fatalf("delete item: %v", err)
	}
	if _, err := f.VirtualMachine(ctx, "vmtx-edit"); err == nil {
		t.Fatal("the template went with its item")
	}
}

func TestVapiDeploySubscribed(t *testing.T) {
	ctx, c := soapClient(t)
	rc := restClient(t, ctx, c)
	m := library.NewManager(rc)
	f := finder(t, ctx, c)
	vc := vcenter.NewManager(rc)
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatalf("datastore: %v", err)
	}
	storage := []library.StorageBackings{{DatastoreID: ds.Reference().Value, Type: "DATASTORE"}}
	published := true
	pubID, err := m.CreateLibrary(ctx, library.Library{
		Name: "deploy-pub-lib", Type: "LOCAL", Storage: storage,
		Publication: &library.Publication{AuthenticationMethod: "NONE", Published: &published},
	})
	if err != nil {
		t.Fatalf("create published library: %v", err)
	}
	dropLibrary(t, ctx, m, pubID)
	pub, err := m.GetLibraryByID(ctx, pubID)
	if err != nil || pub.Publication == nil || pub.Publication.PublishURL == "" {
		t.Fatalf("published library: %+v %v", pub, err)
	}
	uploadItem(t, ctx, rc, m, pubID, "tiny-pub", "ovf", map[string][]byte{
		"tiny.ovf": []byte(tinyOVF), "tiny-disk1.vmdk": []byte("disk"),
	})

	subID, err := m.CreateLibrary(ctx, library.Library{
		Name: "deploy-sub-lib", Type: "SUBSCRIBED", Storage: storage,
		Subscription: &library.Subscription{AuthenticationMethod: "NONE", SubscriptionURL: pub.Publication.PublishURL},
	})
	if err != nil {
		t.Fatalf("create subscribed library: %v", err)
	}
	dropLibrary(t, ctx, m, subID)
	sub, err := m.GetLibraryByID(ctx, subID)
	if err != nil || sub.Type != "SUBSCRIBED" || sub.Subscription == nil {
		t.Fatalf("subscribed library: %+v %v", sub, err)
	}
	items, err := m.GetLibraryItems(ctx, subID)
	if err != nil || len(items) != 1 || items[0].Name != "tiny-pub" {
		t.Fatalf("subscribed items: %+v %v", items, err)
	}
	// Its items are the publisher's: deployable, not writable.
	pool := clusterPool(t, ctx, f)
	if _, err := vc.DeployLibraryItem(ctx, items[0].ID, vcenter.Deploy{
		DeploymentSpec: vcenter.DeploymentSpec{Name: "tiny-from-sub"},
		Target:         vcenter.Target{ResourcePoolID: pool.Reference().Value},
	}); err != nil {
		t.Fatalf("deploy a subscribed item: %v", err)
	}
	if _, err := m.CreateLibraryItem(ctx, library.Item{Name: "mine", Type: "iso", LibraryID: subID}); err == nil {
		t.Fatal("a subscribed library takes no items by hand")
	}

	// A new published item arrives with a sync.
	uploadItem(t, ctx, rc, m, pubID, "second", "iso", map[string][]byte{"a.iso": []byte("iso")})
	if err := m.SyncLibrary(ctx, sub); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if items, err := m.GetLibraryItems(ctx, subID); err != nil || len(items) != 2 {
		t.Fatalf("after sync: %+v %v", items, err)
	}
	if _, err := m.CreateLibrary(ctx, library.Library{
		Name: "deploy-bad-sub", Type: "SUBSCRIBED", Storage: storage,
		Subscription: &library.Subscription{AuthenticationMethod: "NONE", SubscriptionURL: "http://127.0.0.1:1/cls/vcsp/lib/nope/lib.json"},
	}); err == nil {
		t.Fatal("a subscription to no published library is refused")
	}
}
