// govmomi_sim: a minimal server around govmomi's simulator library (the Debian
// golang-github-vmware-govmomi-dev package, 0.24.x), used only as the peer in
// benches/peer/compare.sh. The same file, unchanged, is also built against govmomi
// v0.56.0 with Go 1.25 (compare.sh's govmomi056 peer). It mirrors the inventory of
//
//	vicbed serve --cluster 1 --host H --vm V --standalone-host 0
//
// i.e. one datacenter, one cluster with H hosts, no standalone host, and H*V VMs.
// govmomi's Model.Machine counts VMs per resource pool (the cluster's root pool is
// the only pool here), so we set Machine = H*V to get the same total.
//
// Build (GOPATH mode, no modules):
//
//	GO111MODULE=off GOPATH=$tmp:/usr/share/gocode go build -o govmomi_sim govmomi_sim.go
//
// On start it prints "export GOVC_URL=http://user:pass@127.0.0.1:PORT/sdk" as the
// first stdout line (plain HTTP: Service.TLS is left nil), then serves until
// SIGTERM/SIGINT.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	// The side endpoints govmomi's vcsim command serves too: lookup service, storage
	// policies, STS and the vAPI (tagging, content library).
	_ "github.com/vmware/govmomi/lookup/simulator"
	_ "github.com/vmware/govmomi/pbm/simulator"
	_ "github.com/vmware/govmomi/sts/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	hosts := flag.Int("hosts", 3, "hosts in the single cluster")
	vms := flag.Int("vms", 2, "VMs per host (total VMs = hosts*vms, all in the cluster's root pool)")
	user := flag.String("username", "user", "login user name")
	pass := flag.String("password", "pass", "login password")
	vcsimDefaults := flag.Bool("vcsim-defaults", false, "keep vcsim's default VPX model (ignores -hosts and -vms): benches/peer/parity.sh")
	esx := flag.Bool("esx", false, "with -vcsim-defaults: vcsim's ESX model instead")
	datacenters := flag.Int("dc", 1, "with -vcsim-defaults: datacenters (0: an empty root folder)")
	flag.Parse()

	model := simulator.VPX()
	if *vcsimDefaults {
		if *esx {
			model = simulator.ESX()
		} else {
			model.Datacenter = *datacenters
		}
	} else {
		model.Datacenter = 1
		model.Cluster = 1
		model.ClusterHost = *hosts
		model.Host = 0 // no standalone host
		model.Machine = *hosts * *vms
	}
	// model.Autostart stays true (VPX default): model VMs are powered on.

	if err := model.Create(); err != nil {
		log.Fatalf("model.Create: %v", err)
	}

	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *pass)}
	// The side endpoints imported above answer only when registered, as vcsim's command does.
	model.Service.RegisterEndpoints = true
	// model.Service.TLS stays nil, so NewServer starts a plain-HTTP listener.
	srv := model.Service.NewServer()

	fmt.Printf("export GOVC_URL=%s\n", srv.URL.String())
	fmt.Printf("export GOVC_SIM_PID=%d\n", os.Getpid())
	os.Stdout.Sync()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig

	srv.Close()
	model.Remove()
}
