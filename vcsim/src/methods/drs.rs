//! `ClusterComputeResource.PlaceVm(placementSpec)`: DRS's placement recommendation for a
//! VM to create, relocate, clone or reconfigure (see `emulator/drs_place.rs`).

use super::Args;
use crate::emulator::Emulator;
use crate::soap::Call;
use crate::vmodl::{Fault, Value};

/// `PlaceVm(placementSpec)` → `PlacementResult`.
pub fn place_vm(emu: &mut Emulator, call: &Call, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    if call.this.ty != "ClusterComputeResource" {
        return Err(Fault::method_not_found(&call.this, &call.method));
    }
    let spec = args
        .value("placementSpec")
        .ok_or_else(|| Fault::invalid_argument("placementSpec"))?;
    emu.place_vm(&call.this, &spec).map(Some)
}
