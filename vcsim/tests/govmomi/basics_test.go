package govmomitest

// The everyday govc commands (about, ls, vm.info, host.info, datastore.ls, pool.info,
// vm.create/power/destroy, events, metric.sample, tasks, fields, permissions), made with the
// library calls govc makes, so the suite's pass count measures the drop-in as a whole.

import (
	"strings"
	"testing"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/performance"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// govc about
func TestBasicsAbout(t *testing.T) {
	_, c := soapClient(t)
	about := c.ServiceContent.About
	if about.ApiType != "VirtualCenter" || about.ApiVersion == "" || about.InstanceUuid == "" {
		t.Fatalf("about: %+v", about)
	}
}

// govc ls / find: the inventory tree under the datacenter.
func TestBasicsFind(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	hosts, err := f.HostSystemList(ctx, "*")
	if err != nil || len(hosts) == 0 {
		t.Fatalf("hosts: %v %v", hosts, err)
	}
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"vm", "host", "datastore", "network"} {
		list, err := f.ManagedObjectListChildren(ctx, dc.InventoryPath+"/"+kind)
		if err != nil || len(list) == 0 {
			t.Fatalf("ls %s: %v %v", kind, list, err)
		}
	}
	ds, err := f.DefaultDatastore(ctx)
	if err != nil || ds.Name() == "" {
		t.Fatalf("default datastore: %v", err)
	}
	if pool := clusterPool(t, ctx, f); pool == nil {
		t.Fatal("no cluster pool")
	}
}

// govc vm.info: the properties it reads, through a container view as govc does.
func TestBasicsVmInfo(t *testing.T) {
	ctx, c := soapClient(t)
	m := view.NewManager(c.Client)
	v, err := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = v.Destroy(ctx) }()
	var vms []mo.VirtualMachine
	props := []string{"name", "config", "summary", "runtime", "guest", "resourcePool", "datastore", "network", "layoutEx"}
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, props, &vms); err != nil {
		t.Fatal(err)
	}
	if len(vms) == 0 {
		t.Fatal("no VMs")
	}
	for _, vm := range vms {
		if vm.Config == nil || vm.Config.Uuid == "" || vm.Summary.Config.NumCpu == 0 || vm.Runtime.Host == nil {
			t.Fatalf("%s: incomplete vm.info: %+v", vm.Name, vm.Summary.Config)
		}
	}
}

// govc host.info: hardware, summary and runtime.
func TestBasicsHostInfo(t *testing.T) {
	ctx, c := soapClient(t)
	hosts, err := finder(t, ctx, c).HostSystemList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	var h mo.HostSystem
	pc := property.DefaultCollector(c.Client)
	if err := pc.RetrieveOne(ctx, hosts[0].Reference(), []string{"summary", "hardware", "runtime", "config.product"}, &h); err != nil {
		t.Fatal(err)
	}
	if h.Summary.Hardware == nil || h.Summary.Hardware.CpuMhz == 0 || h.Hardware == nil || h.Hardware.MemorySize == 0 {
		t.Fatalf("host.info: %+v", h.Summary.Hardware)
	}
}

// govc datastore.info and datastore.ls.
func TestBasicsDatastoreLs(t *testing.T) {
	ctx, c := soapClient(t)
	ds, err := finder(t, ctx, c).DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d mo.Datastore
	if err := ds.Properties(ctx, ds.Reference(), []string{"summary", "info"}, &d); err != nil {
		t.Fatal(err)
	}
	if d.Summary.Capacity == 0 || d.Summary.FreeSpace == 0 {
		t.Fatalf("datastore.info: %+v", d.Summary)
	}
	b, err := ds.Browser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := types.HostDatastoreBrowserSearchSpec{MatchPattern: []string{"*"}, Details: &types.FileQueryFlags{FileType: true, FileSize: true, Modification: true}}
	task, err := b.SearchDatastore(ctx, ds.Path(""), &spec)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := info.Result.(types.HostDatastoreBrowserSearchResults)
	if len(res.File) == 0 {
		t.Fatal("datastore.ls: empty datastore")
	}
}

// govc vm.create, vm.power -on/-off, vm.destroy.
func TestBasicsVmLifecycle(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	folders, err := f.DefaultFolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pool := clusterPool(t, ctx, f)
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := types.VirtualMachineConfigSpec{
		Name:     "basics-vm",
		GuestId:  string(types.VirtualMachineGuestOsIdentifierOtherGuest),
		NumCPUs:  1,
		MemoryMB: 64,
		Files:    &types.VirtualMachineFileInfo{VmPathName: "[" + ds.Name() + "]"},
	}
	task, err := folders.CreateVM(ctx, spec, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("vm.create: %v", err)
	}
	vm := object.NewVirtualMachine(c.Client, info.Result.(types.ManagedObjectReference))
	for _, step := range []func() (*object.Task, error){
		func() (*object.Task, error) { return vm.PowerOn(ctx) },
		func() (*object.Task, error) { return vm.PowerOff(ctx) },
		func() (*object.Task, error) { return vm.Destroy(ctx) },
	} {
		task, err := step()
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.VirtualMachine(ctx, "basics-vm"); err == nil {
		t.Fatal("the destroyed VM is still found")
	}
}

// govc pool.create, pool.info, pool.destroy.
func TestBasicsPool(t *testing.T) {
	ctx, c := soapClient(t)
	parent := clusterPool(t, ctx, finder(t, ctx, c))
	spec := types.DefaultResourceConfigSpec()
	limit := int64(500)
	spec.CpuAllocation.Limit = &limit
	child, err := parent.Create(ctx, "basics-pool", spec)
	if err != nil {
		t.Fatal(err)
	}
	var p mo.ResourcePool
	if err := child.Properties(ctx, child.Reference(), []string{"config", "runtime"}, &p); err != nil {
		t.Fatal(err)
	}
	if p.Config.CpuAllocation.Limit == nil || *p.Config.CpuAllocation.Limit != 500 {
		t.Fatalf("pool.info limit: %+v", p.Config.CpuAllocation)
	}
	task, err := child.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// govc events: the latest events of the datacenter's VMs.
func TestBasicsEvents(t *testing.T) {
	ctx, c := soapClient(t)
	m := event.NewManager(c.Client)
	events, err := m.QueryEvents(ctx, types.EventFilterSpec{MaxCount: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 {
		t.Fatal("no events on a fresh server")
	}
	if events[0].GetEvent().FullFormattedMessage == "" {
		t.Fatalf("event without a message: %#v", events[0])
	}
}

// govc metric.ls and metric.sample: realtime samples of a host.
func TestBasicsMetricSample(t *testing.T) {
	ctx, c := soapClient(t)
	hosts, err := finder(t, ctx, c).HostSystemList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	m := performance.NewManager(c.Client)
	metrics, err := m.AvailableMetric(ctx, hosts[0].Reference(), 20)
	if err != nil || len(metrics) == 0 {
		t.Fatalf("metric.ls: %v %v", len(metrics), err)
	}
	spec := types.PerfQuerySpec{MaxSample: 3, IntervalId: 20}
	sample, err := m.SampleByName(ctx, spec, []string{"cpu.usage.average", "mem.usage.average"}, []types.ManagedObjectReference{hosts[0].Reference()})
	if err != nil {
		t.Fatal(err)
	}
	series, err := m.ToMetricSeries(ctx, sample)
	if err != nil || len(series) == 0 || len(series[0].Value) == 0 {
		t.Fatalf("metric.sample: %v %v", series, err)
	}
}

// govc tasks: the recent tasks after a power operation.
func TestBasicsTasks(t *testing.T) {
	ctx, c := soapClient(t)
	vms, err := finder(t, ctx, c).VirtualMachineList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	task, err := vms[0].PowerOff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = task.Wait(ctx)
	var tm mo.TaskManager
	pc := property.DefaultCollector(c.Client)
	if err := pc.RetrieveOne(ctx, *c.ServiceContent.TaskManager, []string{"recentTask"}, &tm); err != nil {
		t.Fatal(err)
	}
	if len(tm.RecentTask) == 0 {
		t.Fatal("no recent tasks")
	}
	task, err = vms[0].PowerOn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = task.Wait(ctx)
}

// govc fields.add / fields.set / fields.ls.
func TestBasicsFields(t *testing.T) {
	ctx, c := soapClient(t)
	m, err := object.GetCustomFieldsManager(c.Client)
	if err != nil {
		t.Fatal(err)
	}
	def, err := m.Add(ctx, "basics-owner", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	vms, err := finder(t, ctx, c).VirtualMachineList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Set(ctx, vms[0].Reference(), def.Key, "ci"); err != nil {
		t.Fatal(err)
	}
	var vm mo.VirtualMachine
	if err := vms[0].Properties(ctx, vms[0].Reference(), []string{"customValue"}, &vm); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range vm.CustomValue {
		if s, ok := v.(*types.CustomFieldStringValue); ok && s.Key == def.Key && s.Value == "ci" {
			found = true
		}
	}
	if !found {
		t.Fatalf("fields.ls: %+v", vm.CustomValue)
	}
	if err := m.Remove(ctx, def.Key); err != nil {
		t.Fatal(err)
	}
}

// govc role.ls and permissions.ls.
func TestBasicsPermissions(t *testing.T) {
	ctx, c := soapClient(t)
	m := object.NewAuthorizationManager(c.Client)
	roles, err := m.RoleList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if roles.ByName("Admin") == nil || roles.ByName("ReadOnly") == nil {
		t.Fatal("role.ls: Admin and ReadOnly are missing")
	}
	perms, err := m.RetrieveEntityPermissions(ctx, c.ServiceContent.RootFolder, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(perms) == 0 {
		t.Fatal("permissions.ls: none on the root folder")
	}
}

// govc option.ls: vCenter's settings.
func TestBasicsOptions(t *testing.T) {
	ctx, c := soapClient(t)
	m := object.NewOptionManager(c.Client, *c.ServiceContent.Setting)
	opts, err := m.Query(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) == 0 {
		t.Fatal("option.ls: no settings")
	}
	for _, o := range opts {
		if strings.TrimSpace(o.GetOptionValue().Key) == "" {
			t.Fatal("a setting without a key")
		}
	}
}
