//! Builder templates and the draft, kept in the real SQLite store.

#![allow(clippy::unwrap_used)]

use sagedesk::store::Store;

#[test]
fn templates_are_saved_renamed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("sagedesk.db")).unwrap();
    store
        .save_template("gpu", r#"{"TrainingJobName":"a"}"#)
        .unwrap();
    store
        .save_template("cpu", r#"{"TrainingJobName":"b"}"#)
        .unwrap();
    let names: Vec<String> = store
        .templates()
        .unwrap()
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(names, ["cpu", "gpu"]);

    let err = store.rename_template("cpu", "gpu").unwrap_err();
    assert_eq!(err.code, "ResourceInUse");
    store.rename_template("cpu", "small").unwrap();
    store
        .save_template("gpu", r#"{"TrainingJobName":"c"}"#)
        .unwrap();
    store.delete_template("small").unwrap();
    assert_eq!(
        store.templates().unwrap(),
        [("gpu".to_string(), r#"{"TrainingJobName":"c"}"#.to_string())]
    );
}

#[test]
fn one_draft_is_kept_until_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sagedesk.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.draft().unwrap(), None);
    store.save_draft("{\"a\":1}").unwrap();
    store.save_draft("{\"a\":2}").unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.draft().unwrap().as_deref(), Some("{\"a\":2}"));
    store.clear_draft().unwrap();
    assert_eq!(store.draft().unwrap(), None);
}
