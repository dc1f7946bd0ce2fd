//! `--print-config`: the settings a command would run with, as JSON, read back from what
//! was parsed: every option's value and where it came from, and the limits as the
//! servers would hold them.

use clap::parser::ValueSource;
use serde_json::{json, Map, Value};

use super::Command;
use crate::Result;

/// Prints the settings of the command `matches` chose, and returns.
pub(super) fn print(
    command: &clap::Command,
    matches: &clap::ArgMatches,
    chosen: &Command,
) -> Result<()> {
    let (name, sub_matches) = matches
        .subcommand()
        .ok_or_else(|| crate::Error::Config("no command given".into()))?;
    let sub = command
        .find_subcommand(name)
        .ok_or_else(|| crate::Error::Config(format!("no command `{name}`")))?;
    let mut options = Map::new();
    for arg in sub.get_arguments() {
        let id = arg.get_id().as_str();
        if matches!(id, "help" | "version" | "print_config") {
            continue;
        }
        options.insert(id.to_owned(), option(arg, sub_matches));
    }
    let limits = match chosen {
        Command::StartFlightServer { serve, .. }
        | Command::StartRestServer { serve, .. }
        | Command::StartAll { serve, .. } => {
            let limits = serve.limits.limits().bounded().describe();
            Value::Object(
                limits
                    .into_iter()
                    .map(|l| (l.name.to_owned(), l.value))
                    .collect(),
            )
        }
        _ => Value::Null,
    };
    let settings = json!({"command": name, "options": options, "limits": limits});
    let text =
        serde_json::to_string_pretty(&settings).map_err(|e| crate::Error::Config(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// One option: its environment variable, where its value came from, and the value as
/// given (hidden for a secret: `hide_env_values`).
fn option(arg: &clap::Arg, matches: &clap::ArgMatches) -> Value {
    let id = arg.get_id().as_str();
    let source = match matches.value_source(id) {
        Some(ValueSource::CommandLine) => json!("command line"),
        Some(ValueSource::EnvVariable) => json!("environment"),
        Some(ValueSource::DefaultValue) => json!("default"),
        _ => Value::Null,
    };
    let raw: Vec<String> = matches
        .try_get_raw(id)
        .ok()
        .flatten()
        .map(|values| values.map(|v| v.to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let many = arg.get_value_delimiter().is_some()
        || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
    let value = if raw.is_empty() {
        Value::Null
    } else if arg.is_hide_env_values_set() {
        json!("(hidden)")
    } else if many {
        json!(raw)
    } else {
        json!(raw.join(" "))
    };
    json!({
        "env": arg.get_env().map(|e| e.to_string_lossy().into_owned()),
        "source": source,
        "value": value,
    })
}
