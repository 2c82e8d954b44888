package govmomitest

// OVF import/export and vApps as govc's import.ovf, export.ovf and vapp.* drive them:
// govmomi's ovf.Manager (ParseDescriptor, CreateImportSpec, CreateDescriptor),
// ResourcePool.ImportVApp with its nfc.Lease (Wait, Upload, Complete, Abort),
// VirtualMachine.Export with a download, and CreateVApp with PowerOn/PowerOff.

import (
	"bytes"
	"context"
	"fmt"
	"io/ioutil"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// tinyOVF is a one-disk, one-NIC appliance of the project's own making.
const tinyOVF = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="tiny-disk1.vmdk" ovf:id="file1" ovf:size="1024"/></References>
  <DiskSection><Info>Virtual disks</Info>
    <Disk ovf:capacity="16" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1"/>
  </DiskSection>
  <NetworkSection><Info>Networks</Info><Network ovf:name="VM Network"><Description>The VM network</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="tiny">
    <Info>A tiny VM</Info>
    <ProductSection><Info>p</Info><Product>Tiny</Product><Vendor>vicbed</Vendor><Version>1.0</Version></ProductSection>
    <OperatingSystemSection ovf:id="101"><Info>os</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>hw</Info>
      <System><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-10</vssd:VirtualSystemType></System>
      <Item><rasd:ElementName>2 CPUs</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>64MB</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>64</rasd:VirtualQuantity></Item>
      <Item><rasd:ElementName>SCSI 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>eth0</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>E1000</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>`

type vappEnv struct {
	ctx    context.Context
	c      *govmomi.Client
	f      *find.Finder
	pool   *object.ResourcePool
	ds     *object.Datastore
	folder *object.Folder
	m      *ovf.Manager
}

func newVappEnv(t *testing.T) vappEnv {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	folders, err := f.DefaultFolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.ServiceContent.OvfManager == nil {
		t.Fatal("the service content has no ovfManager")
	}
	return vappEnv{ctx, c, f, clusterPool(t, ctx, f), ds, folders, ovf.NewManager(c.Client)}
}

// importSpec runs CreateImportSpec for tinyOVF under entity name `name`.
func (e vappEnv) importSpec(t *testing.T, name string) *types.OvfCreateImportSpecResult {
	t.Helper()
	net, err := e.f.Network(e.ctx, "VM Network")
	if err != nil {
		t.Fatal(err)
	}
	cisp := types.OvfCreateImportSpecParams{
		EntityName:     name,
		NetworkMapping: []types.OvfNetworkMapping{{Name: "VM Network", Network: net.Reference()}},
	}
	spec, err := e.m.CreateImportSpec(e.ctx, tinyOVF, e.pool, e.ds, cisp)
	if err != nil {
		t.Fatalf("CreateImportSpec: %v", err)
	}
	if len(spec.Error) != 0 {
		t.Fatalf("import spec errors: %+v", spec.Error)
	}
	if len(spec.FileItem) != 1 || spec.FileItem[0].Path != "tiny-disk1.vmdk" {
		t.Fatalf("file items: %+v", spec.FileItem)
	}
	return spec
}

func TestVappOvfImportExport(t *testing.T) {
	e := newVappEnv(t)
	ctx := e.ctx

	// govc import.spec
	pd, err := e.m.ParseDescriptor(ctx, tinyOVF, types.OvfParseDescriptorParams{})
	if err != nil {
		t.Fatalf("ParseDescriptor: %v", err)
	}
	if pd.DefaultEntityName != "tiny" || len(pd.Network) != 1 || pd.ProductInfo == nil || pd.ProductInfo.Name != "Tiny" {
		t.Fatalf("parsed: %+v", pd)
	}
	if _, err := e.m.ParseDescriptor(ctx, "<Envelope", types.OvfParseDescriptorParams{}); err == nil {
		t.Fatal("a malformed descriptor parsed")
	}

	// govc import.ovf: spec, lease, upload, complete.
	spec := e.importSpec(t, "imported-go")
	lease, err := e.pool.ImportVApp(ctx, spec.ImportSpec, e.folder, nil)
	if err != nil {
		t.Fatalf("ImportVApp: %v", err)
	}
	info, err := lease.Wait(ctx, spec.FileItem)
	if err != nil {
		t.Fatalf("lease wait: %v", err)
	}
	if len(info.Items) != 1 {
		t.Fatalf("lease items: %+v", info.Items)
	}
	updater := lease.StartUpdater(ctx, info)
	data := bytes.Repeat([]byte("streamVmdk"), 400)
	err = lease.Upload(ctx, info.Items[0], bytes.NewReader(data), soap.Upload{ContentLength: int64(len(data))})
	updater.Done()
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if err := lease.Progress(ctx, 100); err != nil {
		t.Fatalf("progress: %v", err)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatalf("complete: %v", err)
	}

	vm, err := e.f.VirtualMachine(ctx, "imported-go")
	if err != nil {
		t.Fatalf("imported VM: %v", err)
	}
	var mvm mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config"}, &mvm); err != nil {
		t.Fatal(err)
	}
	hw := mvm.Config.Hardware
	disks := object.VirtualDeviceList(hw.Device).SelectByType((*types.VirtualDisk)(nil))
	nics := object.VirtualDeviceList(hw.Device).SelectByType((*types.VirtualEthernetCard)(nil))
	if hw.NumCPU != 2 || hw.MemoryMB != 64 || len(disks) != 1 || len(nics) != 1 || mvm.Config.Version != "vmx-10" {
		t.Fatalf("imported config: cpu %d mem %d disks %d nics %d version %s", hw.NumCPU, hw.MemoryMB, len(disks), len(nics), mvm.Config.Version)
	}
	if c := disks[0].(*types.VirtualDisk).CapacityInKB; c != 16*1024 {
		t.Fatalf("disk capacity %d KB", c)
	}

	// govc export.ovf: lease, download, descriptor.
	exp, err := vm.Export(ctx)
	if err != nil {
		t.Fatalf("ExportVm: %v", err)
	}
	einfo, err := exp.Wait(ctx, nil)
	if err != nil {
		t.Fatalf("export lease wait: %v", err)
	}
	if len(einfo.Items) != 1 {
		t.Fatalf("export items: %+v", einfo.Items)
	}
	dir, err := ioutil.TempDir("", "vapp-export")
	if err != nil {
		t.Fatal(err)
	}
	item := einfo.Items[0]
	file := filepath.Join(dir, item.Path)
	if err := exp.DownloadFile(ctx, file, item, soap.DefaultDownload); err != nil {
		t.Fatalf("download: %v", err)
	}
	got, err := ioutil.ReadFile(file)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes (%v), uploaded %d", len(got), err, len(data))
	}
	f := item.File()
	f.Size = int64(len(got))
	desc, err := e.m.CreateDescriptor(ctx, vm, types.OvfCreateDescriptorParams{Name: "exported", OvfFiles: []types.OvfFile{f}})
	if err != nil {
		t.Fatalf("CreateDescriptor: %v", err)
	}
	env, err := ovf.Unmarshal(strings.NewReader(desc.OvfDescriptor))
	if err != nil {
		t.Fatalf("exported descriptor: %v\n%s", err, desc.OvfDescriptor)
	}
	if env.VirtualSystem == nil || env.VirtualSystem.ID != "exported" || len(env.References) != 1 || env.References[0].Href != item.Path {
		t.Fatalf("exported descriptor: %s", desc.OvfDescriptor)
	}
	if err := exp.Complete(ctx); err != nil {
		t.Fatalf("export complete: %v", err)
	}

	// An aborted import leaves no VM behind.
	spec = e.importSpec(t, "aborted-go")
	lease, err = e.pool.ImportVApp(ctx, spec.ImportSpec, e.folder, nil)
	if err != nil {
		t.Fatalf("ImportVApp: %v", err)
	}
	if _, err := lease.Wait(ctx, spec.FileItem); err != nil {
		t.Fatal(err)
	}
	if err := lease.Abort(ctx, nil); err != nil {
		t.Fatalf("abort: %v", err)
	}
	if _, err := e.f.VirtualMachine(ctx, "aborted-go"); err == nil {
		t.Fatal("the aborted import's VM is still there")
	}
}

func TestVappCreatePower(t *testing.T) {
	e := newVappEnv(t)
	ctx := e.ctx

	// govc vapp.create equivalent (govc has no such command; the library call is what
	// Cluster API and Terraform use).
	cfg := types.VAppConfigSpec{Annotation: "made by go"}
	cfg.Product = []types.VAppProductSpec{{
		ArrayUpdateSpec: types.ArrayUpdateSpec{Operation: types.ArrayUpdateOperationAdd},
		Info:            &types.VAppProductInfo{Name: "vicbed-app", Vendor: "vicbed", Version: "1.0"},
	}}
	vapp, err := e.pool.CreateVApp(ctx, "vapp-go", types.DefaultResourceConfigSpec(), cfg, e.folder)
	if err != nil {
		t.Fatalf("CreateVApp: %v", err)
	}
	found, err := e.f.VirtualApp(ctx, "vapp-go")
	if err != nil || found.Reference() != vapp.Reference() {
		t.Fatalf("finder: %v %v", found, err)
	}

	// A VM imported into the vApp (no folder: it goes to the vApp's).
	spec := e.importSpec(t, "vapp-member")
	vpool := object.NewResourcePool(e.c.Client, vapp.Reference())
	lease, err := vpool.ImportVApp(ctx, spec.ImportSpec, nil, nil)
	if err != nil {
		t.Fatalf("ImportVApp into the vApp: %v", err)
	}
	if _, err := lease.Wait(ctx, spec.FileItem); err != nil {
		t.Fatal(err)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	vm, err := e.f.VirtualMachine(ctx, "vapp-member")
	if err != nil {
		t.Fatal(err)
	}
	// govc vm.create with a vApp as its pool.
	child, err := vapp.CreateChildVM(ctx, types.VirtualMachineConfigSpec{
		Name: "vapp-child", NumCPUs: 1, MemoryMB: 32,
		Files: &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", e.ds.Name())},
	}, nil)
	if err == nil {
		_, err = child.WaitForResult(ctx, nil)
	}
	if err != nil {
		t.Fatalf("CreateChildVM: %v", err)
	}
	if _, err := e.f.VirtualMachine(ctx, "vapp-go/vapp-child"); err != nil {
		t.Fatalf("child VM by its vApp path: %v", err)
	}

	power := func(on bool) {
		t.Helper()
		var task *object.Task
		if on {
			task, err = vapp.PowerOn(ctx)
		} else {
			task, err = vapp.PowerOff(ctx, false)
		}
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatalf("power on=%v: %v", on, err)
		}
		want := types.VirtualMachinePowerStatePoweredOff
		wantApp := types.VirtualAppVAppStateStopped
		if on {
			want, wantApp = types.VirtualMachinePowerStatePoweredOn, types.VirtualAppVAppStateStarted
		}
		state, err := vm.PowerState(ctx)
		if err != nil || state != want {
			t.Fatalf("member power state %s (%v), want %s", state, err, want)
		}
		var mapp mo.VirtualApp
		if err := vapp.Properties(ctx, vapp.Reference(), []string{"summary", "vAppConfig", "parentFolder", "vm"}, &mapp); err != nil {
			t.Fatal(err)
		}
		s, ok := mapp.Summary.(*types.VirtualAppSummary)
		if !ok || s.VAppState != wantApp || s.Product == nil || s.Product.Name != "vicbed-app" {
			t.Fatalf("vApp summary %s", fmt.Sprintf("%#v", mapp.Summary))
		}
		if mapp.VAppConfig == nil || mapp.VAppConfig.Annotation != "made by go" || len(mapp.VAppConfig.Product) != 1 || mapp.ParentFolder == nil || len(mapp.Vm) != 2 {
			t.Fatalf("vApp: %+v", mapp)
		}
	}
	power(true)
	power(false)

	// govc vapp.destroy: the vApp goes with its (powered-off) VMs.
	task, err := vapp.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("vApp destroy: %v", err)
	}
	if _, err := e.f.VirtualApp(ctx, "vapp-go"); err == nil {
		t.Fatal("the destroyed vApp is still found")
	}
	if _, err := e.f.VirtualMachine(ctx, "vapp-member"); err == nil {
		t.Fatal("the destroyed vApp's VM is still found")
	}
}
