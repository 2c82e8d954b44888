//! CustomFieldsManager: AddCustomFieldDef, RemoveCustomFieldDef, RenameCustomFieldDef,
//! SetField, and ExtensibleManagedObject.setCustomValue.
//!
//! Definitions live in the manager's `field` property (`CustomFieldDef[]`); each entity
//! shows the definitions that apply to its type in `availableField` and its values in
//! `customValue` and `value` (`CustomFieldStringValue[]`), as vCenter does.

use super::Args;
use crate::emulator::Emulator;
use crate::soap::Call;
use crate::vmodl::{DataObject, Fault, MoRef, Value, is_a, managed_type};

/// Most field definitions.
pub const FIELDS_MAX: usize = 1024;
/// Longest field name.
const NAME_MAX: usize = 256;
/// Longest field value.
pub const VALUE_MAX: usize = 64 * 1024;

fn defs(emu: &Emulator) -> Vec<Value> {
    emu.inv
        .prop(&emu.refs.custom_fields_manager, "field")
        .map(|v| v.items().to_vec())
        .unwrap_or_default()
}

fn key_of(d: &Value) -> Option<i64> {
    d.field("key").and_then(Value::as_i64)
}

fn name_of(d: &Value) -> Option<&str> {
    d.field("name").and_then(Value::as_str)
}

fn mo_type_of(d: &Value) -> Option<&str> {
    d.field("managedObjectType").and_then(Value::as_str)
}

fn applies(d: &Value, ty: &str) -> bool {
    mo_type_of(d).is_none_or(|t| is_a(ty, t))
}

fn check_name(name: &str) -> Result<(), Fault> {
    if name.trim().is_empty() || name.len() > NAME_MAX {
        return Err(Fault::invalid_argument("name"));
    }
    Ok(())
}

/// Stores the definitions and refreshes every entity's `availableField`.
fn store(emu: &mut Emulator, list: Vec<Value>) -> Result<(), Fault> {
    let cfm = emu.refs.custom_fields_manager.clone();
    emu.inv
        .set(&cfm, "field", Value::array("CustomFieldDef", list.clone()))?;
    let entities: Vec<MoRef> = emu
        .inv
        .iter()
        .filter(|o| is_a(&o.moref.ty, "ManagedEntity"))
        .map(|o| o.moref.clone())
        .collect();
    let keys: Vec<i64> = list.iter().filter_map(key_of).collect();
    for e in entities {
        let avail: Vec<Value> = list.iter().filter(|d| applies(d, &e.ty)).cloned().collect();
        emu.inv.update(&e, |o| {
            if avail.is_empty() {
                o.props.remove("availableField");
            } else {
                o.props.insert(
                    "availableField".into(),
                    Value::array("CustomFieldDef", avail),
                );
            }
            // Values of removed definitions go with them.
            for prop in ["customValue", "value"] {
                if let Some(items) = o.props.get_mut(prop).and_then(Value::items_mut) {
                    items.retain(|v| key_of(v).is_some_and(|k| keys.contains(&k)));
                    if items.is_empty() {
                        o.props.remove(prop);
                    }
                }
            }
        })?;
    }
    Ok(())
}

fn duplicate(name: &str, emu: &Emulator) -> Fault {
    Fault::duplicate_name(name, &emu.refs.custom_fields_manager)
}

fn add_def(emu: &mut Emulator, name: &str, mo_type: Option<&str>) -> Result<Value, Fault> {
    check_name(name)?;
    if let Some(t) = mo_type
        && managed_type(t).is_none()
    {
        return Err(Fault::invalid_argument("moType"));
    }
    let mut list = defs(emu);
    if list
        .iter()
        .any(|d| name_of(d) == Some(name) && mo_type_of(d) == mo_type)
    {
        return Err(duplicate(name, emu));
    }
    if list.len() >= FIELDS_MAX {
        return Err(Fault::invalid_argument("name"));
    }
    let key = list.iter().filter_map(key_of).max().unwrap_or(100) + 1;
    let policy = DataObject::new("PrivilegePolicyDef")
        .with("createPrivilege", Value::str("System.Read"))
        .with("readPrivilege", Value::str("System.Read"))
        .with("updatePrivilege", Value::str("System.Read"))
        .with("deletePrivilege", Value::str("System.Read"))
        .into_value();
    let def = DataObject::new("CustomFieldDef")
        .with("key", Value::Int(key as i32))
        .with("name", Value::str(name))
        .with("type", Value::str("string"))
        .with_opt("managedObjectType", mo_type.map(Value::str))
        .with("fieldDefPrivileges", policy.clone())
        .with("fieldInstancePrivileges", policy)
        .into_value();
    list.push(def.clone());
    store(emu, list)?;
    Ok(def)
}

/// `AddCustomFieldDef(name, moType?, fieldDefPolicy?, fieldPolicy?)`: `DuplicateName` when
/// a definition of that name exists for the same type.
pub fn add_custom_field_def(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?;
    let mo_type = args.opt_text("moType").filter(|t| !t.is_empty());
    add_def(emu, name, mo_type).map(Some)
}

fn position(list: &[Value], key: i64) -> Result<usize, Fault> {
    list.iter()
        .position(|d| key_of(d) == Some(key))
        .ok_or_else(|| Fault::invalid_argument("key"))
}

fn key_arg(args: &Args<'_>) -> Result<i64, Fault> {
    args.opt_i64("key")?
        .ok_or_else(|| Fault::invalid_argument("key"))
}

/// `RemoveCustomFieldDef(key)`: the definition and every value of it; `InvalidArgument`
/// for an unknown key.
pub fn remove_custom_field_def(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let key = key_arg(args)?;
    let mut list = defs(emu);
    let i = position(&list, key)?;
    list.remove(i);
    store(emu, list)?;
    Ok(None)
}

/// `RenameCustomFieldDef(key, name)`: `DuplicateName` when the name is taken for the type.
pub fn rename_custom_field_def(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let key = key_arg(args)?;
    let name = args.text("name")?;
    check_name(name)?;
    let mut list = defs(emu);
    let i = position(&list, key)?;
    let ty = mo_type_of(&list[i]).map(str::to_owned);
    if list.iter().any(|d| {
        key_of(d) != Some(key) && name_of(d) == Some(name) && mo_type_of(d) == ty.as_deref()
    }) {
        return Err(duplicate(name, emu));
    }
    if let Some(d) = list[i].as_data_mut() {
        d.set("name", Value::str(name));
    }
    store(emu, list)?;
    Ok(None)
}

/// Sets value `value` of field `key` on `entity` (in `customValue` and `value`).
fn set_value(emu: &mut Emulator, entity: &MoRef, key: i64, value: &str) -> Result<(), Fault> {
    if value.len() > VALUE_MAX {
        return Err(Fault::invalid_argument("value"));
    }
    let item = DataObject::new("CustomFieldStringValue")
        .with("key", Value::Int(key as i32))
        .with("value", Value::str(value))
        .into_value();
    emu.inv.update(entity, |o| {
        for prop in ["customValue", "value"] {
            let slot = o
                .props
                .entry(prop.to_owned())
                .or_insert_with(|| Value::array("CustomFieldValue", vec![]));
            if let Some(items) = slot.items_mut() {
                match items.iter_mut().find(|v| key_of(v) == Some(key)) {
                    Some(v) => *v = item.clone(),
                    None => items.push(item.clone()),
                }
            }
        }
    })
}

/// `SetField(entity, key, value)`: `InvalidArgument` for an unknown key or one defined for
/// another type.
pub fn set_field(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let entity = args.moref("entity")?;
    let ty = emu.inv.get(&entity)?.moref.ty.clone();
    let key = key_arg(args)?;
    let value = args.opt_text("value").unwrap_or("");
    let list = defs(emu);
    let i = position(&list, key)?;
    if !applies(&list[i], &ty) {
        return Err(Fault::invalid_argument("key"));
    }
    set_value(emu, &entity, key, value)?;
    Ok(None)
}

/// `setCustomValue(key, value)` on an entity: `key` is a field name; a name without a
/// definition gets a global one first, as vCenter does.
pub fn set_custom_value(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let ty = emu.inv.get(&call.this)?.moref.ty.clone();
    if !is_a(&ty, "ManagedEntity") {
        return Err(Fault::method_not_found(&call.this, &call.method));
    }
    let name = args.text("key")?;
    let value = args.opt_text("value").unwrap_or("");
    if value.len() > VALUE_MAX {
        return Err(Fault::invalid_argument("value"));
    }
    let existing = defs(emu)
        .iter()
        .filter(|d| name_of(d) == Some(name) && applies(d, &ty))
        .find_map(key_of);
    let key = match existing {
        Some(k) => k,
        None => key_of(&add_def(emu, name, None)?).unwrap_or(0),
    };
    set_value(emu, &call.this, key, value)?;
    Ok(None)
}
