package govmomitest

// Security and correctness fixes (issue 15, wave 2): device keys of VMs made by
// CreateVM_Task, the modification time of files uploaded through /folder, token login
// through the SSO STS (govc session.login -issue / -token), and session keys that are not
// login cookies (govc session.ls shows them to every user).

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/sts"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// govc vm.create -disk 1G -disk.controller pvscsi -net.adapter vmxnet3: the controller,
// disk and NIC carry govmomi's temporary keys; the VM's devices have vCenter's, and the
// disk still hangs off the SCSI controller (device.ls names it disk-1000-0).
func TestFixesCreateVMDeviceKeys(t *testing.T) {
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
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		t.Fatal(err)
	}
	devices = append(devices, scsi)
	controller, err := devices.FindDiskController("scsi")
	if err != nil {
		t.Fatal(err)
	}
	disk := devices.CreateDisk(controller, ds.Reference(), ds.Path("fixes-vm/fixes-vm.vmdk"))
	disk.CapacityInKB = 1024 * 1024
	// AssignController draws a random temporary key when the disk has none, positive or
	// negative; pin a positive one so both kinds are exercised (the controller's is negative).
	disk.Key = 1_500_000_000
	devices = append(devices, disk)
	nic, err := devices.CreateEthernetCard("vmxnet3", backing)
	if err != nil {
		t.Fatal(err)
	}
	devices = append(devices, nic)
	if scsi.GetVirtualDevice().Key >= 0 || disk.ControllerKey != scsi.GetVirtualDevice().Key {
		t.Fatalf("govmomi's temporary keys: controller %d, disk's controllerKey %d", scsi.GetVirtualDevice().Key, disk.ControllerKey)
	}
	changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		t.Fatal(err)
	}
	spec := types.VirtualMachineConfigSpec{
		Name:         "fixes-vm",
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
	disks := list.SelectByType((*types.VirtualDisk)(nil))
	if len(disks) != 1 {
		t.Fatalf("disks: %d", len(disks))
	}
	d := disks[0].(*types.VirtualDisk)
	ctl := list.FindByKey(d.ControllerKey)
	if ctl == nil {
		t.Fatalf("the disk's controller %d is not among the devices %v", d.ControllerKey, names(list))
	}
	if _, ok := ctl.(types.BaseVirtualSCSIController); !ok {
		t.Fatalf("the disk's controller is a %T", ctl)
	}
	if got := list.Name(d); got != "disk-1000-0" {
		t.Fatalf("disk name %q, want disk-1000-0 (devices %v)", got, names(list))
	}
	if d.Key != 2000 || ctl.GetVirtualDevice().Key != 1000 {
		t.Fatalf("keys: disk %d, controller %d", d.Key, ctl.GetVirtualDevice().Key)
	}
	nics := list.SelectByType((*types.VirtualEthernetCard)(nil))
	if len(nics) != 1 || nics[0].GetVirtualDevice().Key != 4000 {
		t.Fatalf("NICs: %v", names(nics))
	}
	if got := ctl.(types.BaseVirtualController).GetVirtualController().Device; len(got) != 1 || got[0] != d.Key {
		t.Fatalf("the controller's device list %v", got)
	}
}

func names(l object.VirtualDeviceList) []string {
	var out []string
	for _, d := range l {
		out = append(out, l.Name(d))
	}
	return out
}

// govc datastore.upload, then datastore.ls -l: the file shows the upload's time.
func TestFixesFolderUploadModTime(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, err := methods.GetCurrentTime(ctx, c.Client)
	if err != nil {
		t.Fatal(err)
	}
	const name = "fixes-upload.txt"
	if err := ds.Upload(ctx, strings.NewReader("hello\n"), name, &soap.DefaultUpload); err != nil {
		t.Fatalf("upload: %v", err)
	}
	b, err := ds.Browser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := types.HostDatastoreBrowserSearchSpec{
		MatchPattern: []string{name},
		Details:      &types.FileQueryFlags{FileType: true, FileSize: true, Modification: true},
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
	if len(res.File) != 1 {
		t.Fatalf("search found %d files", len(res.File))
	}
	fi := res.File[0].GetFileInfo()
	if fi.Modification == nil {
		t.Fatalf("%s has no modification time", fi.Path)
	}
	if fi.Modification.Before(before.Truncate(time.Millisecond)) {
		t.Fatalf("modified %v, before the upload started at %v", fi.Modification, before)
	}
	if fi.FileSize != 6 {
		t.Fatalf("size %d", fi.FileSize)
	}
}

// govc session.login -issue, then -token: a bearer token from the STS logs a new client in,
// a renewed token does too, and a made-up token does not.
func TestFixesTokenLogin(t *testing.T) {
	ctx, c := soapClient(t)
	stsc, err := sts.NewClient(ctx, c.Client)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(stsc.URL().Path, "/sts/STSService/vsphere.local") {
		t.Fatalf("the lookup service points the STS client at %s", stsc.URL())
	}
	user := serverURL(t).User
	signer, err := stsc.Issue(ctx, sts.TokenRequest{Userinfo: user, Renewable: true, Lifetime: time.Minute})
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	if !strings.Contains(signer.Token, "saml2:Assertion") || signer.Lifetime.Expires.Sub(signer.Lifetime.Created) != time.Minute {
		t.Fatalf("token %q, lifetime %+v", signer.Token, signer.Lifetime)
	}
	tokenLogin(t, ctx, signer, user.Username())

	renewed, err := stsc.Renew(ctx, sts.TokenRequest{Userinfo: user, Token: signer.Token, Lifetime: time.Minute})
	if err != nil {
		t.Fatalf("renew: %v", err)
	}
	if renewed.Token == signer.Token {
		t.Fatal("a renewed token is a new token")
	}
	tokenLogin(t, ctx, renewed, user.Username())

	// Wrong password: no token.
	if _, err := stsc.Issue(ctx, sts.TokenRequest{Userinfo: url.UserPassword(user.Username(), "wrong")}); err == nil {
		t.Fatal("a token for a wrong password")
	}

	// A made-up token (well-formed, vCenter's shape, an ID never issued) logs nobody in.
	fake := &sts.Signer{Token: `<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_0b8e5b4e-6b0c-4f56-9a3e-6a4e0c7b1d2f" IssueInstant="2026-01-01T00:00:00.000Z" Version="2.0"><saml2:Subject><saml2:NameID Format="http://schemas.xmlsoap.org/claims/UPN">` + user.Username() + `@vsphere.local</saml2:NameID></saml2:Subject></saml2:Assertion>`}
	vc := newAnonymousClient(t, ctx)
	err = session.NewManager(vc).LoginByToken(vc.WithHeader(ctx, soap.Header{Security: fake}))
	if err == nil {
		t.Fatal("a made-up token logged in")
	}
	if !soap.IsSoapFault(err) {
		t.Fatalf("not a SOAP fault: %v", err)
	}
	if _, ok := soap.ToSoapFault(err).VimFault().(types.InvalidLogin); !ok {
		t.Fatalf("fault %#v, want InvalidLogin", soap.ToSoapFault(err).VimFault())
	}
}

// newAnonymousClient is a vim25 client of the server, not logged in.
func newAnonymousClient(t *testing.T, ctx context.Context) *vim25.Client {
	t.Helper()
	u := *serverURL(t)
	u.User = nil
	vc, err := vim25.NewClient(ctx, soap.NewClient(&u, true))
	if err != nil {
		t.Fatal(err)
	}
	return vc
}

// tokenLogin logs a fresh client in with the token and reads a property as that session.
func tokenLogin(t *testing.T, ctx context.Context, signer *sts.Signer, user string) {
	t.Helper()
	vc := newAnonymousClient(t, ctx)
	sm := session.NewManager(vc)
	if err := sm.LoginByToken(vc.WithHeader(ctx, soap.Header{Security: signer})); err != nil {
		t.Fatalf("LoginByToken: %v", err)
	}
	t.Cleanup(func() { _ = sm.Logout(context.Background()) })
	us, err := sm.UserSession(ctx)
	if err != nil || us == nil {
		t.Fatalf("current session: %v", err)
	}
	if us.UserName != user {
		t.Fatalf("session user %q, want %q", us.UserName, user)
	}
	var root mo.Folder
	pc := property.DefaultCollector(vc)
	if err := pc.RetrieveOne(ctx, vc.ServiceContent.RootFolder, []string{"name", "childEntity"}, &root); err != nil {
		t.Fatalf("a property read after token login: %v", err)
	}
	if len(root.ChildEntity) == 0 {
		t.Fatal("the root folder has datacenters")
	}
}

// govc session.ls shows every session's key: none of them opens a session as a cookie.
func TestFixesSessionKeysAreNotCookies(t *testing.T) {
	ctx, c := soapClient(t)
	var sm mo.SessionManager
	pc := property.DefaultCollector(c.Client)
	if err := pc.RetrieveOne(ctx, *c.ServiceContent.SessionManager, []string{"sessionList", "currentSession"}, &sm); err != nil {
		t.Fatal(err)
	}
	if sm.CurrentSession == nil || len(sm.SessionList) == 0 {
		t.Fatal("the session list")
	}
	u := serverURL(t)
	for _, s := range sm.SessionList {
		thief := newAnonymousClient(t, ctx)
		thief.Jar.SetCookies(&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}, []*http.Cookie{{Name: "vmware_soap_session", Value: s.Key}})
		_, err := methods.RetrieveProperties(ctx, thief, &types.RetrieveProperties{
			This: thief.ServiceContent.PropertyCollector,
			SpecSet: []types.PropertyFilterSpec{{
				PropSet:   []types.PropertySpec{{Type: "SessionManager", PathSet: []string{"currentSession"}}},
				ObjectSet: []types.ObjectSpec{{Obj: *c.ServiceContent.SessionManager}},
			}},
		})
		if err == nil || !soap.IsSoapFault(err) {
			t.Fatalf("session key %s used as a cookie: %v", s.Key, err)
		}
		if _, ok := soap.ToSoapFault(err).VimFault().(types.NotAuthenticated); !ok {
			t.Fatalf("session key %s used as a cookie: %#v", s.Key, soap.ToSoapFault(err).VimFault())
		}
	}
}
