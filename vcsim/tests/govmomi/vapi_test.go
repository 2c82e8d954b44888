package govmomitest

// The vAPI REST family through govmomi's own vapi clients (vapi/rest, vapi/tags,
// vapi/library), the calls govc's tags.*, library.* and session.login -r make, plus raw
// net/http calls for the /api inventory endpoints vcsim lacks (govmomi #1890).

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// rawCall sends one request to the server's base URL with an optional vAPI session id and
// Basic credentials, returning the status and body.
func rawCall(t *testing.T, method, path, session string, user *url.Userinfo, body string) (int, []byte) {
	t.Helper()
	u := *serverURL(t)
	u.User = nil
	u.Path = ""
	u.RawQuery = ""
	req, err := http.NewRequest(method, u.String()+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("request %s: %v", path, err)
	}
	if session != "" {
		req.Header.Set("vmware-api-session-id", session)
	}
	if user != nil {
		p, _ := user.Password()
		req.SetBasicAuth(user.Username(), p)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := ioutil.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return res.StatusCode, b
}

// rawJSON is rawCall expecting `want` and decoding the body into out.
func rawJSON(t *testing.T, method, path, session string, want int, out interface{}) {
	t.Helper()
	status, body := rawCall(t, method, path, session, nil, "")
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, body)
		}
	}
}

func TestVapiSession(t *testing.T) {
	ctx, c := soapClient(t)
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, serverURL(t).User); err != nil {
		t.Fatalf("vAPI login: %v", err)
	}
	s, err := rc.Session(ctx)
	if err != nil || s == nil {
		t.Fatalf("session: %v %v", s, err)
	}
	if s.User != serverURL(t).User.Username() {
		t.Fatalf("session user %q", s.User)
	}
	if err := rc.Logout(ctx); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if s, err := rc.Session(ctx); err != nil || s != nil {
		t.Fatalf("after logout the session is gone, got %v %v", s, err)
	}

	// Wrong password: 401 with the vAPI error body.
	status, body := rawCall(t, "POST", "/rest/com/vmware/cis/session", "", url.UserPassword("user", "wrong-password"), "")
	if status != http.StatusUnauthorized || !strings.Contains(string(body), "com.vmware.vapi.std.errors.unauthenticated") {
		t.Fatalf("bad login: %d %s", status, body)
	}
	// The /api form: POST answers the bare id, GET the session, DELETE ends it.
	status, body = rawCall(t, "POST", "/api/session", "", serverURL(t).User, "")
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("/api/session: %d %s", status, body)
	}
	var id string
	if err := json.Unmarshal(body, &id); err != nil || id == "" {
		t.Fatalf("/api/session id: %v %s", err, body)
	}
	var info struct {
		User         string `json:"user"`
		Created      string `json:"created_time"`
		LastAccessed string `json:"last_accessed_time"`
	}
	rawJSON(t, "GET", "/api/session", id, http.StatusOK, &info)
	if info.User == "" || info.Created == "" || info.LastAccessed == "" {
		t.Fatalf("/api/session info: %+v", info)
	}
	rawJSON(t, "DELETE", "/api/session", id, http.StatusNoContent, nil)
	status, body = rawCall(t, "GET", "/api/vcenter/vm", id, nil, "")
	var apiErr struct {
		ErrorType string `json:"error_type"`
	}
	_ = json.Unmarshal(body, &apiErr)
	if status != http.StatusUnauthorized || apiErr.ErrorType != "UNAUTHENTICATED" {
		t.Fatalf("after DELETE: %d %s", status, body)
	}
}

func TestVapiTags(t *testing.T) {
	ctx, c := soapClient(t)
	m := tags.NewManager(restClient(t, ctx, c))
	f := finder(t, ctx, c)
	vms, err := f.VirtualMachineList(ctx, "*")
	if err != nil || len(vms) < 2 {
		t.Fatalf("VMs: %v", err)
	}
	vm, other := vms[0], vms[1]

	catID, err := m.CreateCategory(ctx, &tags.Category{
		Name: "vapi-env", Description: "environment", Cardinality: "SINGLE",
		AssociableTypes: []string{"VirtualMachine"},
	})
	if err != nil || !strings.HasPrefix(catID, "urn:vmomi:InventoryServiceCategory:") {
		t.Fatalf("create category: %q %v", catID, err)
	}
	if _, err := m.CreateCategory(ctx, &tags.Category{Name: "vapi-env", Cardinality: "SINGLE"}); err == nil ||
		!strings.Contains(err.Error(), "already_exists") {
		t.Fatalf("duplicate category: %v", err)
	}
	cat, err := m.GetCategory(ctx, "vapi-env") // by name, as govc does
	if err != nil || cat.ID != catID || cat.Cardinality != "SINGLE" {
		t.Fatalf("get category: %+v %v", cat, err)
	}
	cat.Description = "where it runs"
	if err := m.UpdateCategory(ctx, cat); err != nil {
		t.Fatalf("update category: %v", err)
	}
	if cat, err = m.GetCategory(ctx, catID); err != nil || cat.Description != "where it runs" {
		t.Fatalf("updated category: %+v %v", cat, err)
	}

	prod, err := m.CreateTag(ctx, &tags.Tag{Name: "prod", CategoryID: "vapi-env"})
	if err != nil {
		t.Fatalf("create tag: %v", err)
	}
	dev, err := m.CreateTag(ctx, &tags.Tag{Name: "dev", CategoryID: catID})
	if err != nil {
		t.Fatalf("create tag: %v", err)
	}
	if _, err := m.CreateTag(ctx, &tags.Tag{Name: "dev", CategoryID: catID}); err == nil {
		t.Fatal("a duplicate tag name in one category is refused")
	}
	inCat, err := m.GetTagsForCategory(ctx, catID)
	if err != nil || len(inCat) != 2 {
		t.Fatalf("tags for category: %v %v", inCat, err)
	}
	tag, err := m.GetTag(ctx, "prod")
	if err != nil || tag.ID != prod || tag.CategoryID != catID {
		t.Fatalf("get tag: %+v %v", tag, err)
	}

	if err := m.AttachTag(ctx, prod, vm); err != nil {
		t.Fatalf("attach: %v", err)
	}
	if err := m.AttachTag(ctx, dev, vm); err == nil {
		t.Fatal("a second tag of a SINGLE category on one VM is refused")
	}
	missing := mo.Reference(types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-does-not-exist"})
	if err := m.AttachTag(ctx, dev, missing); err == nil {
		t.Fatal("attaching to an object that does not exist is refused")
	}
	if err := m.AttachTag(ctx, dev, other); err != nil {
		t.Fatalf("attach to another VM: %v", err)
	}
	attached, err := m.GetAttachedTags(ctx, vm)
	if err != nil || len(attached) != 1 || attached[0].Name != "prod" {
		t.Fatalf("attached tags: %+v %v", attached, err)
	}
	objs, err := m.ListAttachedObjects(ctx, "prod")
	if err != nil || len(objs) != 1 || objs[0].Reference() != vm.Reference() {
		t.Fatalf("attached objects: %v %v", objs, err)
	}
	onObjs, err := m.GetAttachedTagsOnObjects(ctx, []mo.Reference{vm, other})
	if err != nil || len(onObjs) != 2 || len(onObjs[1].Tags) != 1 || onObjs[1].Tags[0].Name != "dev" {
		t.Fatalf("attached tags on objects: %+v %v", onObjs, err)
	}

	// A MULTIPLE category takes batches.
	multi, err := m.CreateCategory(ctx, &tags.Category{Name: "vapi-owner", Cardinality: "MULTIPLE"})
	if err != nil {
		t.Fatalf("create multiple category: %v", err)
	}
	var owners []string
	for _, n := range []string{"alice", "bob"} {
		id, err := m.CreateTag(ctx, &tags.Tag{Name: n, CategoryID: multi})
		if err != nil {
			t.Fatalf("create tag %s: %v", n, err)
		}
		owners = append(owners, id)
	}
	if err := m.AttachMultipleTagsToObject(ctx, owners, vm); err != nil {
		t.Fatalf("attach multiple: %v", err)
	}
	if err := m.AttachTagToMultipleObjects(ctx, owners[0], []mo.Reference{vm, other}); err != nil {
		t.Fatalf("attach to multiple objects: %v", err)
	}
	onTags, err := m.ListAttachedObjectsOnTags(ctx, owners)
	if err != nil || len(onTags) != 2 || len(onTags[0].ObjectIDs) != 2 || len(onTags[1].ObjectIDs) != 1 {
		t.Fatalf("attached objects on tags: %+v %v", onTags, err)
	}
	if err := m.DetachMultipleTagsFromObject(ctx, owners, vm); err != nil {
		t.Fatalf("detach multiple: %v", err)
	}
	if err := m.DetachTag(ctx, prod, vm); err != nil {
		t.Fatalf("detach: %v", err)
	}
	if ids, err := m.ListAttachedTags(ctx, vm); err != nil || len(ids) != 0 {
		t.Fatalf("after detaching: %v %v", ids, err)
	}

	if err := m.DeleteTag(ctx, &tags.Tag{ID: prod}); err != nil {
		t.Fatalf("delete tag: %v", err)
	}
	for _, id := range []string{catID, multi} {
		if err := m.DeleteCategory(ctx, &tags.Category{ID: id}); err != nil {
			t.Fatalf("delete category: %v", err)
		}
	}
	if _, err := m.GetTag(ctx, dev); err == nil {
		t.Fatal("deleting a category deletes its tags")
	}
	if ids, err := m.ListCategories(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("categories left: %v %v", ids, err)
	}
}

func TestVapiLibrary(t *testing.T) {
	ctx, c := soapClient(t)
	rc := restClient(t, ctx, c)
	m := library.NewManager(rc)
	f := finder(t, ctx, c)
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatalf("datastore: %v", err)
	}

	libID, err := m.CreateLibrary(ctx, library.Library{
		Name: "vapi-lib", Type: "LOCAL",
		Storage: []library.StorageBackings{{DatastoreID: ds.Reference().Value, Type: "DATASTORE"}},
	})
	if err != nil {
		t.Fatalf("create library: %v", err)
	}
	lib, err := m.GetLibraryByName(ctx, "vapi-lib")
	if err != nil || lib.ID != libID || lib.Type != "LOCAL" || lib.CreationTime == nil {
		t.Fatalf("get library: %+v %v", lib, err)
	}
	if found, err := m.FindLibrary(ctx, library.Find{Name: "vapi-lib"}); err != nil || len(found) != 1 {
		t.Fatalf("find library: %v %v", found, err)
	}

	itemID, err := m.CreateLibraryItem(ctx, library.Item{Name: "hello", Type: "iso", LibraryID: libID})
	if err != nil {
		t.Fatalf("create item: %v", err)
	}
	if _, err := m.CreateLibraryItem(ctx, library.Item{Name: "hello", Type: "iso", LibraryID: libID}); err == nil {
		t.Fatal("a duplicate item name is refused")
	}

	// What govc library.import does: an update session, a PUSH file, a PUT, complete.
	data := []byte("vicbed content library file\n")
	sid, err := m.CreateLibraryItemUpdateSession(ctx, library.Session{LibraryItemID: itemID})
	if err != nil {
		t.Fatalf("update session: %v", err)
	}
	info, err := m.AddLibraryItemFile(ctx, sid, library.UpdateFile{Name: "hello.iso", SourceType: "PUSH", Size: int64(len(data))})
	if err != nil || info.UploadEndpoint == nil {
		t.Fatalf("add file: %+v %v", info, err)
	}
	u, err := url.Parse(info.UploadEndpoint.URI)
	if err != nil {
		t.Fatalf("upload URI: %v", err)
	}
	p := soap.DefaultUpload
	p.ContentLength = int64(len(data))
	if err := rc.Upload(ctx, bytes.NewReader(data), u, &p); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if err := m.CompleteLibraryItemUpdateSession(ctx, sid); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if err := m.WaitOnLibraryItemUpdateSession(ctx, sid, 0, nil); err != nil {
		t.Fatalf("wait: %v", err)
	}
	files, err := m.ListLibraryItemFiles(ctx, itemID)
	if err != nil || len(files) != 1 || files[0].Name != "hello.iso" || files[0].Size == nil || *files[0].Size != int64(len(data)) {
		t.Fatalf("item files: %+v %v", files, err)
	}
	if file, err := m.GetLibraryItemFile(ctx, itemID, "hello.iso"); err != nil || file.Checksum == nil {
		t.Fatalf("item file: %+v %v", file, err)
	}
	ids, err := m.FindLibraryItems(ctx, library.FindItem{LibraryID: libID, Name: "hello"})
	if err != nil || len(ids) != 1 || ids[0] != itemID {
		t.Fatalf("find items: %v %v", ids, err)
	}

	// The file is on the library's datastore, where vCenter keeps it.
	path := fmt.Sprintf("contentlib-%s/%s/hello.iso", libID, itemID)
	rd, _, err := ds.Download(ctx, path, &soap.DefaultDownload)
	if err != nil {
		t.Fatalf("datastore download %s: %v", path, err)
	}
	got, _ := ioutil.ReadAll(rd)
	_ = rd.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("datastore file: %q", got)
	}

	// And a download session reads it back (govc library.export).
	dl, err := m.CreateLibraryItemDownloadSession(ctx, library.Session{LibraryItemID: itemID})
	if err != nil {
		t.Fatalf("download session: %v", err)
	}
	prep, err := m.PrepareLibraryItemDownloadSessionFile(ctx, dl, "hello.iso")
	if err != nil || prep.DownloadEndpoint == nil {
		t.Fatalf("prepare: %+v %v", prep, err)
	}
	du, _ := url.Parse(prep.DownloadEndpoint.URI)
	rd, _, err = rc.Download(ctx, du, &soap.DefaultDownload)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	got, _ = ioutil.ReadAll(rd)
	_ = rd.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("downloaded: %q", got)
	}
	_ = m.DeleteLibraryItemDownloadSession(ctx, dl)

	// A session that fails keeps nothing.
	sid, err = m.CreateLibraryItemUpdateSession(ctx, library.Session{LibraryItemID: itemID})
	if err != nil {
		t.Fatalf("update session: %v", err)
	}
	if err := m.FailLibraryItemUpdateSession(ctx, sid); err != nil {
		t.Fatalf("fail: %v", err)
	}
	if s, err := m.GetLibraryItemUpdateSession(ctx, sid); err != nil || s.State != "ERROR" {
		t.Fatalf("failed session: %+v %v", s, err)
	}

	if err := m.DeleteLibraryItem(ctx, &library.Item{ID: itemID}); err != nil {
		t.Fatalf("delete item: %v", err)
	}
	if err := m.DeleteLibrary(ctx, lib); err != nil {
		t.Fatalf("delete library: %v", err)
	}
	if libs, err := m.ListLibraries(ctx); err != nil || len(libs) != 0 {
		t.Fatalf("libraries left: %v %v", libs, err)
	}
}

func TestVapiInventory(t *testing.T) {
	ctx, c := soapClient(t)
	rc := restClient(t, ctx, c)
	sid := rc.SessionID()
	f := finder(t, ctx, c)

	var vms []struct {
		VM         string `json:"vm"`
		Name       string `json:"name"`
		PowerState string `json:"power_state"`
		CPUCount   int    `json:"cpu_count"`
		MemoryMiB  int    `json:"memory_size_MiB"`
	}
	rawJSON(t, "GET", "/api/vcenter/vm", sid, http.StatusOK, &vms)
	soapVMs, err := f.VirtualMachineList(ctx, "*")
	if err != nil {
		t.Fatalf("VM list: %v", err)
	}
	if len(vms) != len(soapVMs) {
		t.Fatalf("/api/vcenter/vm has %d VMs, the SOAP inventory %d", len(vms), len(soapVMs))
	}
	if vms[0].CPUCount == 0 || vms[0].MemoryMiB == 0 || vms[0].PowerState == "" {
		t.Fatalf("summary fields: %+v", vms[0])
	}
	var one []struct {
		VM string `json:"vm"`
	}
	rawJSON(t, "GET", "/api/vcenter/vm?names="+url.QueryEscape(vms[0].Name), sid, http.StatusOK, &one)
	if len(one) != 1 || one[0].VM != vms[0].VM {
		t.Fatalf("names filter: %+v", one)
	}
	var info struct {
		Name       string `json:"name"`
		PowerState string `json:"power_state"`
	}
	rawJSON(t, "GET", "/api/vcenter/vm/"+vms[0].VM, sid, http.StatusOK, &info)
	if info.Name != vms[0].Name {
		t.Fatalf("vm info: %+v", info)
	}
	rawJSON(t, "GET", "/api/vcenter/vm/vm-does-not-exist", sid, http.StatusNotFound, nil)

	var hosts []struct {
		Host            string `json:"host"`
		Name            string `json:"name"`
		ConnectionState string `json:"connection_state"`
	}
	rawJSON(t, "GET", "/api/vcenter/host", sid, http.StatusOK, &hosts)
	soapHosts, _ := f.HostSystemList(ctx, "*")
	if len(hosts) == 0 || len(hosts) != len(soapHosts) || hosts[0].ConnectionState != "CONNECTED" {
		t.Fatalf("hosts: %+v (SOAP %d)", hosts, len(soapHosts))
	}
	var clusters []struct {
		Cluster    string `json:"cluster"`
		Name       string `json:"name"`
		DrsEnabled bool   `json:"drs_enabled"`
	}
	rawJSON(t, "GET", "/api/vcenter/cluster", sid, http.StatusOK, &clusters)
	if len(clusters) == 0 {
		t.Fatal("no clusters")
	}
	var inCluster []struct {
		Host string `json:"host"`
	}
	rawJSON(t, "GET", "/api/vcenter/host?clusters="+clusters[0].Cluster, sid, http.StatusOK, &inCluster)
	if len(inCluster) == 0 || len(inCluster) >= len(hosts) {
		t.Fatalf("clusters filter: %d of %d hosts", len(inCluster), len(hosts))
	}
	var powered []struct {
		VM string `json:"vm"`
	}
	rawJSON(t, "GET", "/api/vcenter/vm?power_states=POWERED_ON", sid, http.StatusOK, &powered)
	var on int
	for _, v := range vms {
		if v.PowerState == "POWERED_ON" {
			on++
		}
	}
	if len(powered) != on {
		t.Fatalf("power_states filter: %d, want %d", len(powered), on)
	}

	var about map[string]interface{}
	rawJSON(t, "GET", "/api/about", sid, http.StatusOK, &about)
	if about["api_version"] != c.ServiceContent.About.ApiVersion {
		t.Fatalf("/api/about %v, SOAP about %s", about, c.ServiceContent.About.ApiVersion)
	}
	var sess struct {
		User string `json:"user"`
	}
	rawJSON(t, "GET", "/api/session", sid, http.StatusOK, &sess)
	if sess.User != serverURL(t).User.Username() {
		t.Fatalf("/api/session: %+v", sess)
	}
	// The legacy /rest form wraps the same list.
	var wrapped struct {
		Value []struct {
			Datacenter string `json:"datacenter"`
		} `json:"value"`
	}
	rawJSON(t, "GET", "/rest/vcenter/datacenter", sid, http.StatusOK, &wrapped)
	if len(wrapped.Value) == 0 {
		t.Fatal("/rest/vcenter/datacenter is empty")
	}
	// Without a session: 401.
	rawJSON(t, "GET", "/api/vcenter/host", "", http.StatusUnauthorized, nil)
}

// TestVapiSoapCookie: a client that logged in over SOAP reaches the vAPI endpoints with its
// session cookie alone (what govmomi's rest client copies from the SOAP client's jar).
func TestVapiSoapCookie(t *testing.T) {
	ctx, c := soapClient(t)
	rc := rest.NewClient(c.Client) // no Login: only the SOAP session cookie
	s, err := rc.Session(ctx)
	if err != nil || s == nil || s.User != serverURL(t).User.Username() {
		t.Fatalf("session through the SOAP cookie: %+v %v", s, err)
	}
	m := tags.NewManager(rc)
	if _, err := m.ListCategories(ctx); err != nil {
		t.Fatalf("tags through the SOAP cookie: %v", err)
	}
}

// TestVapiTagsOfDestroyedVM: vCenter drops a destroyed object's tag associations, so no
// association list names the VM or its tags afterwards.
func TestVapiTagsOfDestroyedVM(t *testing.T) {
	ctx, c := soapClient(t)
	m := tags.NewManager(restClient(t, ctx, c))
	f := finder(t, ctx, c)
	folder, err := f.DefaultFolder(ctx)
	if err != nil {
		t.Fatalf("VM folder: %v", err)
	}
	vm := createVM(ctx, t, c, f, folder, "vapi-tagged", "")
	cat, err := m.CreateCategory(ctx, &tags.Category{Name: "vapi-doomed", Cardinality: "MULTIPLE"})
	if err != nil {
		t.Fatalf("create category: %v", err)
	}
	defer func() { _ = m.DeleteCategory(ctx, &tags.Category{ID: cat}) }()
	tag, err := m.CreateTag(ctx, &tags.Tag{Name: "doomed", CategoryID: cat})
	if err != nil {
		t.Fatalf("create tag: %v", err)
	}
	if err := m.AttachTag(ctx, tag, vm); err != nil {
		t.Fatalf("attach: %v", err)
	}
	task, err := vm.Destroy(ctx)
	if err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if ids, err := m.ListAttachedTags(ctx, vm); err != nil || len(ids) != 0 {
		t.Fatalf("tags of the destroyed VM: %v %v", ids, err)
	}
	if objs, err := m.ListAttachedObjects(ctx, tag); err != nil || len(objs) != 0 {
		t.Fatalf("objects of the tag: %v %v", objs, err)
	}
	on, err := m.ListAttachedTagsOnObjects(ctx, []mo.Reference{vm})
	if err != nil || len(on) != 1 || len(on[0].TagIDs) != 0 {
		t.Fatalf("tags on the destroyed VM: %+v %v", on, err)
	}
}
