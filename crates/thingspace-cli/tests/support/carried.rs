//! Which column of a listing's CSV or table should hold each value of an item's JSON: shared
//! by the output module's unit tests and the end-to-end tests.

/// Each value an item's JSON carries, as `(path, column, text)`: a field with a column of its
/// own name is in that column (all its values, however nested); a field without one (an
/// object, or a list of objects) has a column for each of its inner fields.
pub(crate) fn carried(
    item: &serde_json::Value,
    columns: &[impl AsRef<str>],
) -> Vec<(String, String, String)> {
    fn leaves(
        path: String,
        column: &str,
        value: &serde_json::Value,
        out: &mut Vec<(String, String, String)>,
    ) {
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => out.push((path, column.to_owned(), s.clone())),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    leaves(format!("{path}[{i}]"), column, item, out);
                }
            }
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    leaves(format!("{path}.{key}"), column, inner, out);
                }
            }
            other => out.push((path, column.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    for (key, value) in item.as_object().expect("an object") {
        let objects: Vec<&serde_json::Map<String, serde_json::Value>> = match value {
            serde_json::Value::Object(map) => vec![map],
            serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_object()).collect(),
            _ => Vec::new(),
        };
        if columns.iter().any(|c| c.as_ref() == key) || objects.is_empty() {
            leaves(key.clone(), key, value, &mut out);
            continue;
        }
        for (i, object) in objects.iter().enumerate() {
            for (inner_key, inner) in *object {
                leaves(
                    format!("{key}[{i}].{inner_key}"),
                    inner_key,
                    inner,
                    &mut out,
                );
            }
        }
    }
    out
}
