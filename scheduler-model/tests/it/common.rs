//! Scenario builders shared by the integration tests.

use scheduler_model::*;

/// The seed experiment: one 4-core 1.8 GHz host, a VCH pool (limited to 500 MHz / 500 MB or
/// unlimited) holding the VCH appliance VM and a 2 vCPU / 4 GB containerVM.
pub struct Seed {
    pub world: World,
    pub appliance: VmId,
    pub container: VmId,
    pub vch: PoolId,
}

/// VCH appliance: 1 vCPU, 2048 MB, a modest constant demand (100 MHz, 192 MB active) [A].
pub const APPLIANCE_MHZ: u32 = 100;
pub const APPLIANCE_ACTIVE_MB: u64 = 192;

pub fn seed(limited: bool, container_workload: Workload) -> Seed {
    let mut world = World::new(2017);
    let host = world.add_host(HostSpec {
        name: "esx-01".into(),
        cores: 4,
        mhz_per_core: 1800,
        hyperthreading: false,
        memory_mb: 16 * 1024,
    });
    let root = world.add_root_pool("esx-01", &[host]).unwrap();
    let alloc = |limit| {
        if limited {
            Allocation::pool_limited(limit)
        } else {
            Allocation::pool_default()
        }
    };
    let vch = world
        .add_pool(
            root,
            PoolSpec {
                name: "vch".into(),
                cpu: alloc(500),
                memory: alloc(500),
            },
        )
        .unwrap();
    let vm = |name: &str, vcpus, memory_mb| VmSpec {
        name: name.into(),
        vcpus,
        memory_mb,
        cpu: Allocation::vm_default(),
        memory: Allocation::vm_default(),
    };
    let appliance = world.add_vm(vch, host, vm("vch", 1, 2048)).unwrap();
    world.power_on(appliance).unwrap();
    world
        .set_workload(
            appliance,
            Workload::Constant {
                mhz_per_vcpu: APPLIANCE_MHZ,
                active_mb: APPLIANCE_ACTIVE_MB,
            },
        )
        .unwrap();
    let container = world.add_vm(vch, host, vm("stress-c1", 2, 4096)).unwrap();
    world.power_on(container).unwrap();
    world.set_workload(container, container_workload).unwrap();
    Seed {
        world,
        appliance,
        container,
        vch,
    }
}

/// Runs `steps` steps of 20 s and returns `counter` of `vm` (aggregate) for each.
pub fn series(world: &mut World, vm: VmId, counters: &[Counter], steps: usize) -> Vec<Vec<i64>> {
    (0..steps)
        .map(|_| {
            let s = world.step(20);
            counters
                .iter()
                .map(|&c| s.value(Entity::Vm(vm), c, None).expect("sample"))
                .collect()
        })
        .collect()
}
