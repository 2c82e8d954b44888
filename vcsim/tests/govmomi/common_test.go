// Package govmomitest drives vicbed's emulator with govmomi's own Go library (from Debian's
// golang-github-vmware-govmomi-dev), making the calls govc makes. The Rust runner
// (vcsim/tests/it/govmomi.rs) starts a server and runs these tests with VICBED_URL set.
package govmomitest

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/rest"
)

// serverURL is the SDK URL of the server under test, with its credentials.
func serverURL(t *testing.T) *url.URL {
	t.Helper()
	raw := os.Getenv("VICBED_URL")
	if raw == "" {
		t.Fatal("VICBED_URL is not set: run these tests through `cargo test -p vcsim --test it govmomi`")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("VICBED_URL %q: %v", raw, err)
	}
	return u
}

// soapClient logs in to the server's /sdk with the URL's credentials (certificates unchecked,
// as GOVC_INSECURE=1). The session is logged out when the test ends.
func soapClient(t *testing.T) (context.Context, *govmomi.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c, err := govmomi.NewClient(ctx, serverURL(t), true)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	t.Cleanup(func() { _ = c.Logout(context.Background()) })
	return ctx, c
}

// restClient logs in to the vAPI endpoint of the same server with the URL's credentials.
func restClient(t *testing.T, ctx context.Context, c *govmomi.Client) *rest.Client {
	t.Helper()
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, serverURL(t).User); err != nil {
		t.Fatalf("vAPI login: %v", err)
	}
	t.Cleanup(func() { _ = rc.Logout(context.Background()) })
	return rc
}

// finder is a Finder with the server's default datacenter set.
func finder(t *testing.T, ctx context.Context, c *govmomi.Client) *find.Finder {
	t.Helper()
	f := find.NewFinder(c.Client, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatalf("default datacenter: %v", err)
	}
	f.SetDatacenter(dc)
	return f
}

// TestHarnessLogin checks the harness itself: a SOAP login and the default datacenter.
func TestHarnessLogin(t *testing.T) {
	ctx, c := soapClient(t)
	f := finder(t, ctx, c)
	vms, err := f.VirtualMachineList(ctx, "*")
	if err != nil {
		t.Fatalf("VM list: %v", err)
	}
	if len(vms) == 0 {
		t.Fatal("the default inventory has VMs")
	}
	if !c.IsVC() {
		t.Fatal("the default server is a vCenter")
	}
}

// clusterPool is the root resource pool of the first cluster (what GOVC_RESOURCE_POOL names
// in vcsim's exports: with a cluster and a standalone host, "the default pool" is ambiguous).
func clusterPool(t *testing.T, ctx context.Context, f *find.Finder) *object.ResourcePool {
	t.Helper()
	clusters, err := f.ClusterComputeResourceList(ctx, "*")
	if err != nil || len(clusters) == 0 {
		t.Fatalf("clusters: %v", err)
	}
	pool, err := clusters[0].ResourcePool(ctx)
	if err != nil {
		t.Fatalf("cluster pool: %v", err)
	}
	return pool
}
