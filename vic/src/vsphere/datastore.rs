//! Listing a datastore folder with `HostDatastoreBrowser.SearchDatastore_Task`, as
//! `govc datastore.ls` does.

use super::{Client, Error, list};
use vcsim::vmodl::{DataObject, MoRef, Value};

impl Client {
    /// The entries of datastore folder `path` (`[ds] dir`) through `browser`, file and
    /// folder names (folders with or without a trailing `/`, as the server gives them),
    /// of the `FileQuery` type `query` names (`FolderFileQuery`, `VmDiskFileQuery`, …; None:
    /// every entry). None when the folder does not exist.
    pub async fn datastore_files(
        &self,
        browser: &MoRef,
        path: &str,
        query: Option<&'static str>,
    ) -> Result<Option<Vec<String>>, Error> {
        let mut spec = DataObject::new("HostDatastoreBrowserSearchSpec");
        if let Some(q) = query {
            spec = spec.with(
                "query",
                Value::array("FileQuery", vec![DataObject::new(q).into_value()]),
            );
        }
        let found = self
            .run_task(
                "SearchDatastore_Task",
                browser,
                &[
                    ("datastorePath", Value::str(path)),
                    ("searchSpec", spec.into_value()),
                ],
            )
            .await;
        match found {
            Ok(r) => Ok(Some(
                r.as_ref()
                    .map(|r| list(r, "file"))
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|f| f.field("path").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect(),
            )),
            Err(e) if e.is_fault("FileNotFound") => Ok(None),
            Err(e) => Err(e),
        }
    }
}
