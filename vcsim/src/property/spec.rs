//! PropertyFilterSpec as the client sends it, decoded into plain data.

use crate::soap::{Element, decode};
use crate::vmodl::{Fault, MoRef, PropertyPath};

/// Bound on selection-spec nesting in one request.
const SELECT_DEPTH_MAX: usize = 32;

/// A PropertySpec.
#[derive(Clone, Debug, PartialEq)]
pub struct PropSpec {
    /// The managed object type it applies to (and its subtypes).
    pub ty: String,
    /// `all=true`: every set property.
    pub all: bool,
    /// The paths asked for.
    pub paths: Vec<PropertyPath>,
}

/// A SelectionSpec: a reference to a named TraversalSpec, or a TraversalSpec itself.
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    /// A SelectionSpec naming a TraversalSpec declared elsewhere in the filter spec.
    Named(String),
    /// A TraversalSpec.
    Traversal(Traversal),
}

/// A TraversalSpec: follow property `path` of objects of type `ty`.
#[derive(Clone, Debug, PartialEq)]
pub struct Traversal {
    /// Its name, when other specs refer to it.
    pub name: Option<String>,
    /// The type whose property is followed.
    pub ty: String,
    /// The property holding the references.
    pub path: String,
    /// Whether the reached objects are themselves left out of the result.
    pub skip: bool,
    /// Further selections from the reached objects.
    pub select: Vec<Selection>,
}

/// An ObjectSpec.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjSpec {
    /// The starting object.
    pub obj: MoRef,
    /// Whether the starting object is left out of the result.
    pub skip: bool,
    /// Selections from it.
    pub select: Vec<Selection>,
}

/// A PropertyFilterSpec.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterSpec {
    /// Property specs.
    pub props: Vec<PropSpec>,
    /// Object specs.
    pub objects: Vec<ObjSpec>,
    /// `reportMissingObjectsInResults`: list deleted start objects as missing instead of
    /// failing the call.
    pub report_missing: bool,
}

fn bool_child(el: &Element, name: &str) -> bool {
    el.child_text(name).is_some_and(|t| t == "true" || t == "1")
}

/// Decodes one `specSet`/`spec` element.
pub fn filter_spec(el: &Element) -> Result<FilterSpec, Fault> {
    let mut props = Vec::new();
    for p in el.children_named("propSet") {
        let ty = p
            .child_text("type")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Fault::invalid_argument("type"))?
            .to_owned();
        let mut paths = Vec::new();
        for t in p.child_texts("pathSet") {
            paths.push(PropertyPath::parse(t).ok_or_else(|| Fault::invalid_property(t))?);
        }
        props.push(PropSpec {
            ty,
            all: bool_child(p, "all"),
            paths,
        });
    }
    let mut objects = Vec::new();
    for o in el.children_named("objectSet") {
        let obj = o
            .child("obj")
            .and_then(decode::moref)
            .ok_or_else(|| Fault::invalid_argument("obj"))?;
        let select = o
            .children_named("selectSet")
            .map(|s| selection(s, 0))
            .collect::<Result<Vec<_>, _>>()?;
        objects.push(ObjSpec {
            obj,
            skip: bool_child(o, "skip"),
            select,
        });
    }
    if props.is_empty() || objects.is_empty() {
        return Err(Fault::invalid_argument(if props.is_empty() {
            "propSet"
        } else {
            "objectSet"
        }));
    }
    Ok(FilterSpec {
        props,
        objects,
        report_missing: bool_child(el, "reportMissingObjectsInResults"),
    })
}

fn selection(el: &Element, depth: usize) -> Result<Selection, Fault> {
    if depth > SELECT_DEPTH_MAX {
        return Err(Fault::invalid_argument("selectSet"));
    }
    let name = el
        .child_text("name")
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let is_traversal =
        el.xsi_type.as_deref() == Some("TraversalSpec") || el.child("path").is_some();
    if !is_traversal {
        return name
            .map(Selection::Named)
            .ok_or_else(|| Fault::invalid_argument("selectSet.name"));
    }
    let ty = el
        .child_text("type")
        .ok_or_else(|| Fault::invalid_argument("selectSet.type"))?
        .to_owned();
    let path = el
        .child_text("path")
        .ok_or_else(|| Fault::invalid_argument("selectSet.path"))?
        .to_owned();
    let select = el
        .children_named("selectSet")
        .map(|s| selection(s, depth + 1))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Selection::Traversal(Traversal {
        name,
        ty,
        path,
        skip: bool_child(el, "skip"),
        select,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::parse_document;

    #[test]
    fn decodes_a_container_view_spec() {
        let el = parse_document(
            r#"<specSet xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
            <propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>runtime.powerState</pathSet></propSet>
            <objectSet><obj type="ContainerView">session[1]2</obj><skip>true</skip>
              <selectSet xsi:type="TraversalSpec"><name>tv</name><type>ContainerView</type><path>view</path><skip>false</skip>
                <selectSet><name>tv</name></selectSet></selectSet></objectSet></specSet>"#,
        )
        .unwrap();
        let spec = filter_spec(&el).unwrap();
        assert_eq!(spec.props[0].paths.len(), 2);
        assert!(spec.objects[0].skip);
        let Selection::Traversal(t) = &spec.objects[0].select[0] else {
            panic!("traversal expected")
        };
        assert_eq!(t.path, "view");
        assert_eq!(t.select, vec![Selection::Named("tv".into())]);
    }

    #[test]
    fn rejects_incomplete_specs() {
        let el =
            parse_document("<specSet><propSet><type>VirtualMachine</type></propSet></specSet>")
                .unwrap();
        assert_eq!(filter_spec(&el).unwrap_err().ty, "InvalidArgument");
    }
}
