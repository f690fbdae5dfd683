//! A form for any shape of the API model, editing a JSON value in place: structures as
//! groups of fields, lists with add/remove/reorder, maps as key/value tables, enums as
//! combo boxes (searchable when long), and each member's diagnostics under it.

use egui::{Color32, RichText};
use serde_json::{Map, Value};

use crate::job::secret;
use crate::request::validate::model::{Kind, MODEL, Shape};
use crate::request::validate::{Diagnostic, Severity, join, join_key};
use crate::ui::masked;

/// Enums longer than this get a search field.
const SEARCHABLE: usize = 12;

/// What the form asks of the builder.
pub enum FormAction {
    /// Pick a local folder or file for the field at this JSON pointer.
    Browse(String),
}

/// Drawing context shared by every field of one frame.
pub struct Form<'a> {
    /// Diagnostics of the current value.
    pub diagnostics: &'a [Diagnostic],
    /// Set when any field changed.
    pub changed: bool,
    /// The path to focus this frame, if any.
    pub focus: Option<&'a str>,
    /// Requests for the builder.
    pub actions: Vec<FormAction>,
}

impl Form<'_> {
    /// Diagnostics at exactly `path`.
    fn show_diagnostics(&self, ui: &mut egui::Ui, path: &str) {
        for d in self.diagnostics.iter().filter(|d| d.path == path) {
            let color = match d.severity {
                Severity::Error => Color32::from_rgb(0xe0, 0x4f, 0x4f),
                Severity::Warning => Color32::from_rgb(0xe0, 0x9b, 0x2d),
            };
            ui.label(RichText::new(&d.message).small().color(color));
        }
    }

    /// The fields of one member of a structure.
    pub fn member(
        &mut self,
        ui: &mut egui::Ui,
        parent: &mut Map<String, Value>,
        parent_shape: &Shape,
        member: &str,
        path: &str,
        pointer: &str,
    ) {
        let Some(index) = parent_shape.member_shape(member) else {
            return;
        };
        let shape = MODEL.shape(index);
        let required = parent_shape.required.iter().any(|r| r == member);
        let path = join(path, member);
        let pointer = format!("{pointer}/{}", escape_pointer(member));
        let label = if required {
            format!("{member} *")
        } else {
            member.to_string()
        };
        match shape.kind {
            Kind::Structure | Kind::List | Kind::Map => {
                let present = parent.get(member).is_some_and(|v| !v.is_null());
                if !present {
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(&label).weak());
                        if ui.small_button(format!("+ Add {member}")).clicked() {
                            parent.insert(member.to_string(), empty_value(shape));
                            self.changed = true;
                        }
                    });
                    self.show_diagnostics(ui, &path);
                    return;
                }
                let errors = self
                    .diagnostics
                    .iter()
                    .filter(|d| d.path.starts_with(&path) && d.severity == Severity::Error)
                    .count();
                let title = if errors > 0 {
                    RichText::new(format!(
                        "{label}  ({errors} error{})",
                        if errors == 1 { "" } else { "s" }
                    ))
                    .color(Color32::from_rgb(0xe0, 0x4f, 0x4f))
                } else {
                    RichText::new(label)
                };
                let open = self.focus.is_some_and(|f| f.starts_with(&path));
                let mut remove = false;
                egui::CollapsingHeader::new(title)
                    .id_salt(("member", &path))
                    .default_open(true)
                    .open(open.then_some(true))
                    .show(ui, |ui| {
                        let value = parent.get_mut(member).expect("present");
                        self.value(ui, value, index, &path, &pointer);
                        if ui.small_button(format!("Remove {member}")).clicked() {
                            remove = true;
                        }
                    });
                if remove {
                    parent.shift_remove(member);
                    self.changed = true;
                }
                self.show_diagnostics(ui, &path);
            }
            _ => {
                ui.horizontal(|ui| {
                    let label_id = ui.label(&label).on_hover_text(&shape.name).id;
                    let mut value = parent.get(member).cloned().unwrap_or(Value::Null);
                    let before = value.clone();
                    self.scalar(ui, &mut value, shape, &path, &pointer, label_id);
                    if value != before {
                        if value.is_null() {
                            parent.shift_remove(member);
                        } else {
                            parent.insert(member.to_string(), value);
                        }
                        self.changed = true;
                    }
                });
                self.show_diagnostics(ui, &path);
            }
        }
    }

    /// Any value of shape `index`.
    pub fn value(
        &mut self,
        ui: &mut egui::Ui,
        value: &mut Value,
        index: usize,
        path: &str,
        pointer: &str,
    ) {
        let shape = MODEL.shape(index);
        match (shape.kind, value) {
            (Kind::Structure, Value::Object(map)) => {
                let mut members: Vec<&String> = shape.members.iter().map(|(m, _)| m).collect();
                members.sort_by_key(|m| !shape.required.contains(m));
                for member in members {
                    self.member(ui, map, shape, member, path, pointer);
                }
                let unknown: Vec<String> = map
                    .keys()
                    .filter(|k| shape.member_shape(k).is_none())
                    .cloned()
                    .collect();
                for k in unknown {
                    ui.label(
                        RichText::new(format!("{k}: kept as written (edit it in the JSON)")).weak(),
                    );
                }
            }
            (Kind::List, Value::Array(items)) => self.list(ui, items, shape, path, pointer),
            (Kind::Map, Value::Object(map)) => self.map(ui, map, shape, path),
            (_, other) => {
                ui.label(
                    RichText::new(format!("{other} — edit this member in the JSON pane"))
                        .color(Color32::from_rgb(0xe0, 0x4f, 0x4f)),
                );
            }
        }
    }

    fn list(
        &mut self,
        ui: &mut egui::Ui,
        items: &mut Vec<Value>,
        shape: &Shape,
        path: &str,
        pointer: &str,
    ) {
        let member = shape.member.expect("lists have members");
        let member_shape = MODEL.shape(member);
        let mut op: Option<(usize, i32)> = None;
        for i in 0..items.len() {
            let item_path = format!("{path}[{i}]");
            let item_pointer = format!("{pointer}/{i}");
            egui::Frame::group(ui.style()).show(ui, |ui| {
                let label_id = ui
                    .horizontal(|ui| {
                        let id = ui.label(RichText::new(format!("[{i}]")).weak()).id;
                        if ui.small_button("⏶").on_hover_text("Move up").clicked() && i > 0 {
                            op = Some((i, -1));
                        }
                        if ui.small_button("⏷").on_hover_text("Move down").clicked()
                            && i + 1 < items.len()
                        {
                            op = Some((i, 1));
                        }
                        if ui.small_button("Remove").clicked() {
                            op = Some((i, 0));
                        }
                        id
                    })
                    .inner;
                match member_shape.kind {
                    Kind::Structure | Kind::List | Kind::Map => {
                        self.value(ui, &mut items[i], member, &item_path, &item_pointer)
                    }
                    _ => {
                        let before = items[i].clone();
                        self.scalar(
                            ui,
                            &mut items[i],
                            member_shape,
                            &item_path,
                            &item_pointer,
                            label_id,
                        );
                        if items[i] != before {
                            self.changed = true;
                        }
                    }
                }
                self.show_diagnostics(ui, &item_path);
            });
        }
        match op {
            Some((i, 0)) => {
                items.remove(i);
                self.changed = true;
            }
            Some((i, d)) => {
                items.swap(i, (i as i32 + d) as usize);
                self.changed = true;
            }
            None => {}
        }
        if ui.small_button("+ Add entry").clicked() {
            items.push(empty_value(member_shape));
            self.changed = true;
        }
    }

    fn map(&mut self, ui: &mut egui::Ui, map: &mut Map<String, Value>, shape: &Shape, path: &str) {
        let mut entries: Vec<(String, Value)> =
            map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut dirty = false;
        let mut remove = None;
        for (i, (key, value)) in entries.iter_mut().enumerate() {
            let entry_path = join_key(path, key);
            ui.horizontal(|ui| {
                dirty |= ui
                    .add(
                        egui::TextEdit::singleline(key)
                            .id_salt(("map_key", path, i))
                            .desired_width(200.0)
                            .hint_text("key"),
                    )
                    .on_hover_text("key")
                    .changed();
                let mut text = value
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| value.to_string());
                // Tokens stay masked while a demo is on screen, each revealed on request.
                let secret = secret::MEMBERS.contains(&path) && secret::is_secret_key(key);
                let revealed =
                    secret && masked::reveal_toggle(ui, ui.make_persistent_id(("reveal", path, i)));
                if ui
                    .add(
                        egui::TextEdit::singleline(&mut text)
                            .id_salt(("map_value", path, i))
                            .password(secret && !revealed)
                            .desired_width(ui.available_width() - 40.0)
                            .hint_text("value"),
                    )
                    .changed()
                {
                    *value = Value::String(text);
                    dirty = true;
                }
                if ui.small_button("×").on_hover_text("Remove").clicked() {
                    remove = Some(i);
                }
            });
            self.show_diagnostics(ui, &entry_path);
        }
        if let Some(i) = remove {
            entries.remove(i);
            dirty = true;
        }
        if ui.small_button("+ Add entry").clicked() {
            let mut n = entries.len() + 1;
            while entries.iter().any(|(k, _)| *k == format!("key{n}")) {
                n += 1;
            }
            entries.push((format!("key{n}"), Value::String(String::new())));
            dirty = true;
        }
        if dirty {
            *map = entries.into_iter().collect();
            self.changed = true;
        }
        let _ = shape;
    }

    /// A string, number or boolean field; `Null` means absent.
    fn scalar(
        &mut self,
        ui: &mut egui::Ui,
        value: &mut Value,
        shape: &Shape,
        path: &str,
        pointer: &str,
        label: egui::Id,
    ) {
        let focus = self.focus == Some(path);
        match shape.kind {
            Kind::Boolean => {
                let current = value.as_bool();
                let text = match current {
                    None => "—",
                    Some(true) => "true",
                    Some(false) => "false",
                };
                egui::ComboBox::new(("bool", path), "")
                    .selected_text(text)
                    .show_ui(ui, |ui| {
                        for (text, v) in [
                            ("—", Value::Null),
                            ("true", Value::Bool(true)),
                            ("false", Value::Bool(false)),
                        ] {
                            if ui.selectable_label(*value == v, text).clicked() {
                                *value = v;
                            }
                        }
                    })
                    .response
                    .labelled_by(label);
            }
            _ if shape.enum_values.is_some() => {
                let allowed = shape.enum_values.as_ref().expect("checked");
                let current = value.as_str().unwrap_or("").to_string();
                let shown = if current.is_empty() {
                    "—".to_string()
                } else {
                    current.clone()
                };
                let response = egui::ComboBox::new(("enum", path), "")
                    .selected_text(shown)
                    .height(320.0)
                    .show_ui(ui, |ui| {
                        let search_id = ui.make_persistent_id(("enum_search", path));
                        let mut search: String =
                            ui.data_mut(|d| d.get_temp(search_id).unwrap_or_default());
                        if allowed.len() > SEARCHABLE {
                            let r =
                                ui.add(egui::TextEdit::singleline(&mut search).hint_text("search"));
                            r.request_focus();
                            ui.data_mut(|d| d.insert_temp(search_id, search.clone()));
                        }
                        if ui.selectable_label(current.is_empty(), "—").clicked() {
                            *value = Value::Null;
                        }
                        let needle = search.to_lowercase();
                        for a in allowed
                            .iter()
                            .filter(|a| a.to_lowercase().contains(&needle))
                        {
                            if ui.selectable_label(current == *a, a).clicked() {
                                *value = Value::String(a.clone());
                            }
                        }
                    });
                let response = response.response.labelled_by(label);
                if focus {
                    response.request_focus();
                }
            }
            _ => {
                let mut text = match &*value {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let response = ui
                    .add(
                        egui::TextEdit::singleline(&mut text)
                            .id_salt(("field", path))
                            .desired_width(360.0)
                            .hint_text(hint(shape)),
                    )
                    .labelled_by(label);
                if focus {
                    response.request_focus();
                    response.scroll_to_me(Some(egui::Align::Center));
                }
                if response.changed() {
                    *value = parse_scalar(&text, shape);
                }
                if shape.name == "S3Uri"
                    && ui
                        .small_button("Browse…")
                        .on_hover_text("Pick a local folder (file://) for local mode")
                        .clicked()
                {
                    self.actions.push(FormAction::Browse(pointer.to_string()));
                }
            }
        }
    }
}

fn hint(shape: &Shape) -> String {
    match shape.kind {
        Kind::Integer => match (shape.min, shape.max) {
            (Some(min), Some(max)) => format!("{min}–{max}"),
            (Some(min), None) => format!("≥ {min}"),
            _ => "number".into(),
        },
        Kind::Number => "number".into(),
        _ => String::new(),
    }
}

/// Text typed into a field, as the value the request holds: numbers for number shapes when
/// they parse (otherwise the text, so the validator can say what is wrong), absent when empty.
fn parse_scalar(text: &str, shape: &Shape) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    match shape.kind {
        Kind::Integer => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        Kind::Number => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_string())),
        _ => Value::String(text.to_string()),
    }
}

/// A new, empty value of a shape.
pub fn empty_value(shape: &Shape) -> Value {
    match shape.kind {
        Kind::Structure | Kind::Map => Value::Object(Map::new()),
        Kind::List => Value::Array(Vec::new()),
        _ => Value::String(String::new()),
    }
}

fn escape_pointer(member: &str) -> String {
    member.replace('~', "~0").replace('/', "~1")
}

/// Removes the members the form cleared (nulls), at every depth.
pub fn prune(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                prune(v);
            }
            map.retain(|_, v| !v.is_null());
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                prune(v);
            }
        }
        _ => {}
    }
}
