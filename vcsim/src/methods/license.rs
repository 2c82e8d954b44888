//! LicenseManager and LicenseAssignmentManager: the evaluation license, added licenses and
//! their labels, and what is assigned to vCenter and its hosts.
//!
//! A fresh vCenter (and vcsim) runs in evaluation mode: `LicenseManager.licenses` holds the
//! evaluation license `00000-00000-00000-00000-00000`, edition `eval`, and every host and the
//! vCenter instance report it as their assigned license. Licenses a client adds are kept in
//! `licenses` with their labels (`UpdateLicenseLabel`, `UpdateLicense`); assignments are not
//! remembered (the emulator enforces no license), so `QueryAssignedLicenses` always answers
//! with the evaluation license, as vcsim does.

use super::Args;
use crate::config::Flavor;
use crate::emulator::Emulator;
use crate::inventory::{Inventory, ManagedObject};
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// The evaluation license's key, as vCenter and vcsim show it.
pub const EVALUATION_KEY: &str = "00000-00000-00000-00000-00000";

/// Most licenses the LicenseManager holds (the evaluation license included).
pub const LICENSES_MAX: usize = 256;

/// Most labels on one license.
pub const LABELS_MAX: usize = 64;

/// Longest label key or value, in characters.
const LABEL_MAX_CHARS: usize = 256;

fn key_any(key: &str, value: Value) -> Value {
    DataObject::new("KeyAnyValue")
        .with("key", Value::str(key))
        .with("value", Value::any(value))
        .into_value()
}

fn feature(key: &str, name: &str) -> Value {
    key_any(
        "feature",
        DataObject::new("KeyValue")
            .with("key", Value::str(key))
            .with("value", Value::str(name))
            .into_value(),
    )
}

/// A license's `LicenseManagerLicenseInfo` (the evaluation license's edition and features
/// for any key: the emulator decodes no real keys).
pub fn license_info(key: &str, labels: Vec<Value>) -> Value {
    let eval = key == EVALUATION_KEY;
    let mut d = DataObject::new("LicenseManagerLicenseInfo")
        .with("licenseKey", Value::str(key))
        .with("editionKey", Value::str("eval"))
        .with(
            "name",
            Value::str(if eval { "Evaluation Mode" } else { "License" }),
        )
        .with("total", Value::Int(0))
        .with("costUnit", Value::str(""))
        .with(
            "properties",
            Value::array(
                "KeyAnyValue",
                vec![
                    feature("serialuri:2", "Remote virtual Serial Port Concentrator"),
                    feature("dvs", "vSphere Distributed Switch"),
                ],
            ),
        );
    if !labels.is_empty() {
        d = d.with("labels", Value::array("KeyValue", labels));
    }
    d.into_value()
}

/// Seeds the LicenseManager: the evaluation license, the edition and evaluation period, and
/// on vCenter its LicenseAssignmentManager.
pub fn seed_license_manager(inv: &mut Inventory, lm: &MoRef, flavor: Flavor) {
    let lam = (flavor == Flavor::VirtualCenter)
        .then(|| MoRef::new("LicenseAssignmentManager", "LicenseAssignmentManager"));
    if let Some(lam) = &lam {
        inv.insert(ManagedObject::new(lam.clone()));
    }
    let _ = inv.update(lm, |o| {
        o.props.insert(
            "licenses".into(),
            Value::array(
                "LicenseManagerLicenseInfo",
                vec![license_info(EVALUATION_KEY, Vec::new())],
            ),
        );
        o.props.insert("licensedEdition".into(), Value::str(""));
        o.props.insert(
            "evaluation".into(),
            DataObject::new("LicenseManagerEvaluationInfo")
                .with(
                    "properties",
                    Value::array(
                        "KeyAnyValue",
                        // vSphere's evaluation period is 60 days.
                        vec![key_any("expirationHours", Value::Int(60 * 24))],
                    ),
                )
                .into_value(),
        );
        if let Some(lam) = &lam {
            o.props
                .insert("licenseAssignmentManager".into(), Value::moref(lam));
        }
    });
}

fn licenses(emu: &Emulator) -> Vec<Value> {
    emu.inv
        .prop(&emu.refs.license_manager, "licenses")
        .map(|v| v.items().to_vec())
        .unwrap_or_default()
}

fn store(emu: &mut Emulator, list: Vec<Value>) -> Result<(), Fault> {
    let lm = emu.refs.license_manager.clone();
    emu.inv.set(
        &lm,
        "licenses",
        Value::array("LicenseManagerLicenseInfo", list),
    )
}

fn key_of(v: &Value) -> &str {
    v.field("licenseKey").and_then(Value::as_str).unwrap_or("")
}

fn labels_of(v: &Value) -> Vec<Value> {
    v.field("labels")
        .map(|l| l.items().to_vec())
        .unwrap_or_default()
}

/// A license key as vSphere writes them: five groups of five letters or digits.
fn check_key(key: &str) -> Result<(), Fault> {
    let ok = key.len() == 29
        && key.split('-').count() == 5
        && key
            .split('-')
            .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(Fault::invalid_argument("licenseKey"))
    }
}

fn label(key: &str, value: &str) -> Result<Value, Fault> {
    if key.is_empty() || key.chars().count() > LABEL_MAX_CHARS {
        return Err(Fault::invalid_argument("labelKey"));
    }
    if value.chars().count() > LABEL_MAX_CHARS {
        return Err(Fault::invalid_argument("labelValue"));
    }
    Ok(DataObject::new("KeyValue")
        .with("key", Value::str(key))
        .with("value", Value::str(value))
        .into_value())
}

fn labels_arg(args: &Args<'_>) -> Result<Vec<Value>, Fault> {
    let labels: Vec<Value> = args
        .elements("labels")
        .map(|l| {
            label(
                l.child_text("key").unwrap_or(""),
                l.child_text("value").unwrap_or(""),
            )
        })
        .collect::<Result<_, _>>()?;
    if labels.len() > LABELS_MAX {
        return Err(Fault::invalid_argument("labels"));
    }
    Ok(labels)
}

// `dispatch` has checked each call's receiver (the LicenseManager).

/// `AddLicense(licenseKey, labels?)`: adds (or, when present, returns) a license.
pub fn add_license(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let key = args.text("licenseKey")?;
    check_key(key)?;
    let labels = labels_arg(args)?;
    let mut list = licenses(emu);
    if let Some(existing) = list.iter().find(|l| key_of(l) == key) {
        return Ok(Some(existing.clone()));
    }
    if list.len() >= LICENSES_MAX {
        return Err(Fault::invalid_state(format!(
            "The license manager holds the most licenses allowed ({LICENSES_MAX})"
        )));
    }
    let info = license_info(key, labels);
    list.push(info.clone());
    store(emu, list)?;
    Ok(Some(info))
}

/// `RemoveLicense(licenseKey)`: the evaluation license stays (vCenter cannot remove it).
pub fn remove_license(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let key = args.text("licenseKey")?;
    if key == EVALUATION_KEY {
        return Err(Fault::invalid_argument("licenseKey"));
    }
    let mut list = licenses(emu);
    list.retain(|l| key_of(l) != key);
    store(emu, list)?;
    Ok(None)
}

/// `UpdateLicense(licenseKey, labels?)`: replaces a license's labels (adding the license
/// when absent, as vCenter's "update" does).
pub fn update_license(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let key = args.text("licenseKey")?;
    check_key(key)?;
    let labels = labels_arg(args)?;
    let mut list = licenses(emu);
    let info = license_info(key, labels);
    match list.iter().position(|l| key_of(l) == key) {
        Some(i) => list[i] = info.clone(),
        None if list.len() < LICENSES_MAX => list.push(info.clone()),
        None => return Err(Fault::invalid_argument("licenseKey")),
    }
    store(emu, list)?;
    Ok(Some(info))
}

/// `UpdateLicenseLabel(licenseKey, labelKey, labelValue)`: sets one label; an empty value
/// removes it. `InvalidArgument` for a license the manager does not hold.
pub fn update_license_label(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let key = args.text("licenseKey")?;
    let label_key = args.text("labelKey")?;
    let label_value = args.opt_text("labelValue").unwrap_or("");
    let new_label = label(label_key, label_value)?;
    let mut list = licenses(emu);
    let Some(lic) = list.iter_mut().find(|l| key_of(l) == key) else {
        return Err(Fault::invalid_argument("licenseKey"));
    };
    let mut labels = labels_of(lic);
    let pos = labels
        .iter()
        .position(|l| l.field("key").and_then(Value::as_str) == Some(label_key));
    match (pos, label_value.is_empty()) {
        (Some(i), true) => {
            labels.remove(i);
        }
        (Some(i), false) => labels[i] = new_label,
        (None, true) => {}
        (None, false) if labels.len() < LABELS_MAX => labels.push(new_label),
        (None, false) => return Err(Fault::invalid_argument("labelKey")),
    }
    *lic = license_info(key, labels);
    store(emu, list)?;
    Ok(None)
}

/// `DecodeLicense(licenseKey)`.
pub fn decode_license(args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let key = args.text("licenseKey")?;
    check_key(key)?;
    Ok(Some(license_info(key, Vec::new())))
}

fn assignment(entity_id: &str, display: &str, license: Value) -> Value {
    DataObject::new("LicenseAssignmentManagerLicenseAssignment")
        .with("entityId", Value::str(entity_id))
        .with("entityDisplayName", Value::str(display))
        .with("assignedLicense", license)
        .into_value()
}

fn instance_uuid(emu: &Emulator) -> String {
    emu.inv
        .prop(&emu.refs.service_instance, "content")
        .and_then(|c| c.field("about"))
        .and_then(|a| a.field("instanceUuid"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// `QueryAssignedLicenses(entityId?)`: the evaluation license for the vCenter instance
/// (its instance UUID) and each host (its MoRef value); one entity, or all of them.
pub fn query_assigned_licenses(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let eval = license_info(EVALUATION_KEY, Vec::new());
    let vc = instance_uuid(emu);
    let mut all = vec![(vc.clone(), "vCenter Server".to_owned())];
    all.extend(
        emu.inv
            .iter()
            .filter(|o| o.moref.ty == "HostSystem")
            .map(|o| (o.moref.value.clone(), o.name().to_owned())),
    );
    let wanted = args.opt_text("entityId").filter(|e| !e.is_empty());
    let list: Vec<Value> = all
        .iter()
        .filter(|(id, _)| wanted.is_none_or(|w| w == id))
        .map(|(id, name)| assignment(id, name, eval.clone()))
        .collect();
    Ok(Some(Value::array(
        "LicenseAssignmentManagerLicenseAssignment",
        list,
    )))
}

fn known_entity(emu: &Emulator, id: &str) -> bool {
    id == instance_uuid(emu) || emu.inv.contains(&MoRef::new("HostSystem", id))
}

/// `UpdateAssignedLicense(entity, licenseKey, entityDisplayName?)`: accepted for a known
/// entity and a license the manager holds (returned); `LicenseEntityNotFound` otherwise.
pub fn update_assigned_license(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let entity = args.text("entity")?;
    if !known_entity(emu, entity) {
        return Err(Fault::new(
            "LicenseEntityNotFound",
            format!("Entity {entity} not found"),
        )
        .with("entityId", Value::str(entity)));
    }
    let key = args.text("licenseKey")?;
    licenses(emu)
        .into_iter()
        .find(|l| key_of(l) == key)
        .map(Some)
        .ok_or_else(|| Fault::invalid_argument("licenseKey"))
}

/// `RemoveAssignedLicense(entityId)`: accepted for a known entity.
pub fn remove_assigned_license(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let entity = args.text("entityId")?;
    if !known_entity(emu, entity) {
        return Err(Fault::new(
            "LicenseEntityNotFound",
            format!("Entity {entity} not found"),
        )
        .with("entityId", Value::str(entity)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::soap::parse_document;

    fn labels(emu: &Emulator, key: &str) -> Vec<(String, String)> {
        licenses(emu)
            .iter()
            .find(|l| key_of(l) == key)
            .map(labels_of)
            .unwrap_or_default()
            .iter()
            .map(|l| {
                let t = |f: &str| l.field(f).and_then(Value::as_str).unwrap_or("").to_owned();
                (t("key"), t("value"))
            })
            .collect()
    }

    #[test]
    fn evaluation_license_is_listed_and_labelled() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        seed_license_manager(&mut emu.inv, &emu.refs.license_manager.clone(), emu.flavor);
        assert_eq!(key_of(&licenses(&emu)[0]), EVALUATION_KEY);
        let set = parse_document(&format!(
            "<r><licenseKey>{EVALUATION_KEY}</licenseKey><labelKey>team</labelKey><labelValue>ci</labelValue></r>"
        ))
        .unwrap();
        update_license_label(&mut emu, &Args::new(&set)).unwrap();
        assert_eq!(
            labels(&emu, EVALUATION_KEY),
            vec![("team".into(), "ci".into())]
        );
        let clear = parse_document(&format!(
            "<r><licenseKey>{EVALUATION_KEY}</licenseKey><labelKey>team</labelKey><labelValue></labelValue></r>"
        ))
        .unwrap();
        update_license_label(&mut emu, &Args::new(&clear)).unwrap();
        assert!(labels(&emu, EVALUATION_KEY).is_empty());
        let unknown = parse_document(
            "<r><licenseKey>AAAAA-00000-00000-00000-00000</licenseKey><labelKey>a</labelKey><labelValue>b</labelValue></r>",
        )
        .unwrap();
        assert_eq!(
            update_license_label(&mut emu, &Args::new(&unknown))
                .unwrap_err()
                .ty,
            "InvalidArgument"
        );
    }

    #[test]
    fn licenses_are_added_and_removed() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        seed_license_manager(&mut emu.inv, &emu.refs.license_manager.clone(), emu.flavor);
        let add = parse_document(
            "<r><licenseKey>AAAAA-BBBBB-CCCCC-DDDDD-EEEEE</licenseKey><labels><key>k</key><value>v</value></labels></r>",
        )
        .unwrap();
        add_license(&mut emu, &Args::new(&add)).unwrap();
        assert_eq!(licenses(&emu).len(), 2);
        assert_eq!(
            labels(&emu, "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"),
            vec![("k".into(), "v".into())]
        );
        let bad = parse_document("<r><licenseKey>nope</licenseKey></r>").unwrap();
        assert!(add_license(&mut emu, &Args::new(&bad)).is_err());
        let rm = parse_document("<r><licenseKey>AAAAA-BBBBB-CCCCC-DDDDD-EEEEE</licenseKey></r>")
            .unwrap();
        remove_license(&mut emu, &Args::new(&rm)).unwrap();
        assert_eq!(licenses(&emu).len(), 1);
    }

    #[test]
    fn assignments_answer_with_the_evaluation_license() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let q = parse_document("<r></r>").unwrap();
        let all = query_assigned_licenses(&mut emu, &Args::new(&q))
            .unwrap()
            .unwrap();
        let hosts = emu
            .inv
            .iter()
            .filter(|o| o.moref.ty == "HostSystem")
            .count();
        assert_eq!(all.items().len(), hosts + 1);
    }
}
