//! The command catalogue from the reference (`spec/xcommand.json`).

use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Debug, Clone, Deserialize)]
pub struct ParamVs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ParamSpec {
    /// Two commands take one unnamed value; the reference writes them `Command: <value>`. Such a
    /// parameter is called `Value` here.
    #[serde(default, deserialize_with = "name_or_value")]
    pub name: String,
    #[serde(default, deserialize_with = "flag")]
    pub required: bool,
    pub valuespace: Option<ParamVs>,
    pub default: Option<String>,
}

fn name_or_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_else(|| "Value".into()))
}

fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

#[derive(Debug, Clone, Deserialize)]
pub struct CommandSpec {
    pub name: String,
    pub parameters: Vec<ParamSpec>,
}

pub fn commands() -> &'static [CommandSpec] {
    static C: OnceLock<Vec<CommandSpec>> = OnceLock::new();
    C.get_or_init(|| {
        let mut all: Vec<CommandSpec> =
            serde_json::from_str(include_str!("../spec/xcommand.json")).expect("command catalogue");
        add_ours(&mut all);
        all
    })
}

/// Parameters of our own on the reference's commands: an account's or group's access level,
/// which the reference sets only on a web page.
fn add_ours(all: &mut Vec<CommandSpec>) {
    let text = |name: &str| ParamSpec {
        name: name.into(),
        required: true,
        valuespace: Some(ParamVs {
            kind: "string".into(),
            min: Some(0),
            max: Some(1024),
            values: vec![],
        }),
        default: None,
    };
    // Acknowledging an alarm and changing one's own password are buttons on the reference's web
    // pages; here they are commands, so every surface has them.
    all.push(CommandSpec {
        name: "AlarmAcknowledge".into(),
        parameters: vec![ParamSpec {
            name: "Id".into(),
            required: true,
            valuespace: Some(ParamVs {
                kind: "int".into(),
                min: Some(10000),
                max: Some(99999),
                values: vec![],
            }),
            default: None,
        }],
    });
    all.push(CommandSpec {
        name: "PasswordChange".into(),
        parameters: vec![text("CurrentPassword"), text("NewPassword")],
    });
    // Backup and restore are a web page in the reference; factory reset a console procedure.
    all.push(CommandSpec {
        name: "BackupCreate".into(),
        parameters: vec![text("Password")],
    });
    all.push(CommandSpec {
        name: "BackupRestore".into(),
        parameters: vec![text("File"), text("Password")],
    });
    all.push(CommandSpec {
        name: "FactoryReset".into(),
        parameters: vec![ParamSpec {
            name: "Confirm".into(),
            required: true,
            valuespace: Some(ParamVs {
                kind: "enum".into(),
                min: None,
                max: None,
                values: vec!["Yes".into()],
            }),
            default: None,
        }],
    });
    for c in all.iter_mut() {
        let levels: &[&str] = match c.name.as_str() {
            "AdminAccountAdd" => &["ReadWrite", "ReadOnly", "Auditor"],
            "AdminGroupAdd" => &["ReadWrite", "ReadOnly", "Auditor", "None"],
            _ => continue,
        };
        c.parameters.push(ParamSpec {
            name: "AccessLevel".into(),
            required: false,
            valuespace: Some(ParamVs {
                kind: "enum".into(),
                min: None,
                max: None,
                values: levels.iter().map(|s| s.to_string()).collect(),
            }),
            default: Some("ReadWrite".into()),
        });
    }
}

/// Unit test hook: every entry of the catalogue parses.
pub fn count() -> usize {
    commands().len()
}

pub fn find(name: &str) -> Option<&'static CommandSpec> {
    commands()
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
}

impl ParamVs {
    pub fn notation(&self) -> String {
        match self.kind.as_str() {
            "int" => format!(
                "<{}..{}>",
                self.min.unwrap_or(0),
                self.max.unwrap_or(i64::MAX)
            ),
            "enum" => format!("<{}>", self.values.join("/")),
            // The reference gives no valuespace for some text parameters.
            "unspecified" => "<S: 0, 1024>".into(),
            _ => format!(
                "<S: {}, {}>",
                self.min.unwrap_or(0),
                self.max
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "1024".into())
            ),
        }
    }

    /// The canonical form of a value, or why it is refused.
    pub fn canonical(&self, raw: &str) -> Result<String, String> {
        match self.kind.as_str() {
            "int" => {
                let n: i64 = raw
                    .trim()
                    .parse()
                    .map_err(|_| format!("\"{raw}\" is not an integer"))?;
                let (lo, hi) = (self.min.unwrap_or(i64::MIN), self.max.unwrap_or(i64::MAX));
                if n < lo || n > hi {
                    return Err(format!("{n} is outside {lo}..{hi}"));
                }
                Ok(n.to_string())
            }
            "enum" => self
                .values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(raw.trim()))
                .cloned()
                .ok_or_else(|| format!("\"{raw}\" is not one of {}", self.values.join("/"))),
            _ => {
                if raw.chars().any(char::is_control) {
                    return Err("control characters are not allowed".into());
                }
                let len = raw.chars().count() as i64;
                let (lo, hi) = (self.min.unwrap_or(0), self.max.unwrap_or(1024));
                if len < lo || len > hi {
                    return Err(format!("length {len} is outside {lo}..{hi} characters"));
                }
                Ok(raw.to_string())
            }
        }
    }
}
