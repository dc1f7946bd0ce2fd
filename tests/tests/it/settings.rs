//! Every option of every command of `fastflight-demo` set through its environment
//! variable and read back with `--print-config`; the limits as the servers would hold
//! them. An option added without a value in [`VALUES`] fails here, by name.

use std::process::Command;

use serde_json::Value;

use crate::support::{demo_binary, BoundedOutput};

const COMMANDS: [&str; 5] = [
    "start-flight-server",
    "start-rest-server",
    "start-all",
    "services",
    "call",
];

/// A value for every environment variable an option reads.
const VALUES: &[(&str, &str)] = &[
    ("FASTFLIGHT_ADVERTISE", "grpc://127.0.0.9:9000"),
    ("FASTFLIGHT_AUTH_MAX_FAILURES", "9"),
    ("FASTFLIGHT_AUTH_MAX_LOCKOUT", "7"),
    ("FASTFLIGHT_AUTH_SECRET_FILE", "/settings/secret"),
    ("FASTFLIGHT_AUTH_TOKENS", "/settings/tokens"),
    ("FASTFLIGHT_AUTH_USERS", "/settings/users"),
    ("FASTFLIGHT_CLIENT_CERT", "/settings/client.pem"),
    ("FASTFLIGHT_CLIENT_KEY", "/settings/client.key"),
    ("FASTFLIGHT_CONNECTIONS", "3"),
    ("FASTFLIGHT_DATA_DIR", "/settings/data"),
    ("FASTFLIGHT_FLIGHT_LOCATION", "grpc://127.0.0.1:18815"),
    ("FASTFLIGHT_FLIGHT_TLS_CA", "/settings/flight-ca.pem"),
    ("FASTFLIGHT_FORMAT", "json"),
    ("FASTFLIGHT_GRACE_PERIOD", "11"),
    ("FASTFLIGHT_HEADER_READ_TIMEOUT", "12"),
    ("FASTFLIGHT_IDLE_TIMEOUT", "13"),
    ("FASTFLIGHT_JSON", "true"),
    ("FASTFLIGHT_LOCATION", "grpc://127.0.0.1:18816"),
    ("FASTFLIGHT_MAX_CONCURRENCY", "14"),
    ("FASTFLIGHT_MAX_CONCURRENT_STREAMS", "15"),
    ("FASTFLIGHT_MAX_FLIGHT_DATA_SIZE", "16000"),
    ("FASTFLIGHT_MAX_REQUEST_BYTES", "17000"),
    ("FASTFLIGHT_MAX_STREAMS_PER_PEER", "4"),
    ("FASTFLIGHT_NO_PROGRESS", "true"),
    ("FASTFLIGHT_OPEN_TIMEOUT", "2.5"),
    ("FASTFLIGHT_OUTPUT", "/settings/out.csv"),
    ("FASTFLIGHT_PEERS", "grpc://127.0.0.2:1,grpc://127.0.0.3:2"),
    ("FASTFLIGHT_POSTGRES_ALLOW_PRIVILEGED", "true"),
    (
        "FASTFLIGHT_POSTGRES_URL",
        "postgresql://reader:pg-secret-1@127.0.0.1/db",
    ),
    ("FASTFLIGHT_POSTGRES_URL_FILE", "/settings/pg-url"),
    ("FASTFLIGHT_QUEUE_WAIT_MS", "18"),
    (
        "FASTFLIGHT_REQUEST",
        r#"{"param_type": "fastflight.demo.SyntheticParams"}"#,
    ),
    ("FASTFLIGHT_REQUEST_TIMEOUT", "19"),
    ("FASTFLIGHT_RESILIENCE_PRESET", "aggressive"),
    ("FASTFLIGHT_REST_HOST", "127.0.0.4"),
    ("FASTFLIGHT_REST_PORT", "18000"),
    ("FASTFLIGHT_REST_PREFIX", "/api"),
    ("FASTFLIGHT_SESSION_TTL", "20"),
    ("FASTFLIGHT_SHUTDOWN_DELAY", "0.5"),
    ("FASTFLIGHT_SQL_TIMEOUT", "21"),
    ("FASTFLIGHT_STALL_TIMEOUT", "22"),
    ("FASTFLIGHT_STATS", "true"),
    ("FASTFLIGHT_TLS_CA", "/settings/ca.pem"),
    ("FASTFLIGHT_TLS_CERT", "/settings/cert.pem"),
    ("FASTFLIGHT_TLS_CLIENT_AUTH", "optional"),
    ("FASTFLIGHT_TLS_CLIENT_CA", "/settings/client-ca.pem"),
    ("FASTFLIGHT_TLS_KEY", "/settings/key.pem"),
    ("FASTFLIGHT_TOKEN", "token-secret-2"),
    ("FASTFLIGHT_TOKEN_FILE", "/settings/token"),
    ("FASTFLIGHT_TOKEN_TTL", "23"),
    ("FASTFLIGHT_TRUSTED_PROXIES", "10.0.0.0/8,192.0.2.1"),
    ("FASTFLIGHT_TRUST_HOSTS", "a.example,b.example"),
    ("FASTFLIGHT_USER", "alice"),
];

/// The limits those values make, as the servers would hold them.
const LIMITS: &[(&str, f64)] = &[
    ("header_read_timeout", 12.0),
    ("idle_timeout", 13.0),
    ("max_concurrency", 14.0),
    ("max_concurrent_streams", 15.0),
    ("max_flight_data_size", 16000.0),
    ("max_request_bytes", 17000.0),
    ("max_streams_per_peer", 4.0),
    ("queue_wait", 0.018),
    ("request_timeout", 19.0),
    ("shutdown_delay", 0.5),
    ("stall_timeout", 22.0),
];

/// Options that exclude each other, set in turn: one of each set per run.
const TURNS: [[&str; 2]; 3] = [
    ["FASTFLIGHT_USER", "FASTFLIGHT_POSTGRES_URL"],
    ["FASTFLIGHT_TOKEN", "FASTFLIGHT_POSTGRES_URL_FILE"],
    ["FASTFLIGHT_TOKEN_FILE", "FASTFLIGHT_POSTGRES_URL"],
];

/// Values never printed (hidden), whichever option carries them.
const SECRETS: [&str; 2] = ["pg-secret-1", "token-secret-2"];

fn value_of(env: &str) -> Option<&'static str> {
    VALUES
        .iter()
        .find(|(name, _)| *name == env)
        .map(|(_, v)| *v)
}

/// `--print-config` of a command with only `env` among the FASTFLIGHT_ variables.
fn print_config(command: &str, args: &[&str], env: &[(&str, &str)]) -> (Value, String) {
    let mut child = Command::new(demo_binary());
    child.arg(command).args(args).arg("--print-config");
    for (name, _) in std::env::vars() {
        if name.starts_with("FASTFLIGHT_") {
            child.env_remove(name);
        }
    }
    child.envs(env.iter().copied());
    let output = child.bounded_output().expect("fastflight-demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command} --print-config: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let settings = serde_json::from_str(&stdout).expect("JSON settings");
    (settings, stdout)
}

#[test]
fn every_option_is_set_by_its_environment_variable_and_read_back() {
    let exclusive: Vec<&str> = TURNS.iter().flatten().copied().collect();
    for command in COMMANDS {
        let request = [(
            "FASTFLIGHT_REQUEST",
            value_of("FASTFLIGHT_REQUEST").unwrap_or("{}"),
        )];
        let (defaults, _) = print_config(command, &[], &request);
        let options = defaults["options"].as_object().expect("options");
        let envs: Vec<&str> = options
            .iter()
            .map(|(id, option)| {
                option["env"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{command}: --{id} reads no environment variable"))
            })
            .collect();
        for turn in TURNS {
            let env: Vec<(&str, &str)> = envs
                .iter()
                .filter(|e| !exclusive.contains(e) || turn.contains(e))
                .map(|e| {
                    let value = value_of(e).unwrap_or_else(|| {
                        panic!("{command}: the option of {e} is set by no test: give it a value in VALUES")
                    });
                    (*e, value)
                })
                .collect();
            let (read, text) = print_config(command, &[], &env);
            for secret in SECRETS {
                assert!(!text.contains(secret), "{command} printed a secret: {text}");
            }
            for (id, option) in read["options"].as_object().expect("options") {
                let Some(env_name) = option["env"].as_str() else {
                    continue;
                };
                let Some((_, given)) = env.iter().find(|(name, _)| *name == env_name) else {
                    assert!(exclusive.contains(&env_name), "{command}: {id} was not set");
                    continue;
                };
                assert_eq!(
                    option["source"], "environment",
                    "{command} --{id}: {option}"
                );
                let expected = match &option["value"] {
                    Value::Array(_) => Value::from(given.split(',').collect::<Vec<_>>()),
                    Value::String(s) if s == "(hidden)" => Value::from("(hidden)"),
                    _ => Value::from(*given),
                };
                assert_eq!(option["value"], expected, "{command} --{id} ({env_name})");
            }
            if command.starts_with("start-") {
                for (name, value) in LIMITS {
                    let read = read["limits"][name].as_f64();
                    assert_eq!(read, Some(*value), "{command}: the limit {name}");
                }
            } else {
                assert_eq!(read["limits"], Value::Null, "{command} has no limits");
            }
        }
    }
}

#[test]
fn the_command_line_wins_over_the_environment_and_limits_are_held_within_bounds() {
    let (read, _) = print_config(
        "start-all",
        &["--max-concurrency", "3", "--request-timeout=0"],
        &[
            ("FASTFLIGHT_MAX_CONCURRENCY", "14"),
            ("FASTFLIGHT_MAX_REQUEST_BYTES", "0"),
            ("FASTFLIGHT_HEADER_READ_TIMEOUT", "0"),
        ],
    );
    assert_eq!(read["options"]["max_concurrency"]["source"], "command line");
    assert_eq!(read["limits"]["max_concurrency"], 3);
    assert_eq!(read["limits"]["request_timeout"], Value::Null);
    // Zero bytes and zero seconds are brought to their least values.
    assert_eq!(read["limits"]["max_request_bytes"], 1);
    assert_eq!(read["limits"]["header_read_timeout"], 0.001);
    assert_eq!(
        read["options"]["max_request_bytes"]["source"],
        "environment"
    );
}

#[test]
fn a_bad_value_in_an_environment_variable_is_refused_naming_its_option() {
    for (env, value, named) in [
        ("FASTFLIGHT_MAX_CONCURRENCY", "lots", "--max-concurrency"),
        ("FASTFLIGHT_STALL_TIMEOUT", "-3", "--stall-timeout"),
        ("FASTFLIGHT_QUEUE_WAIT_MS", "1.5", "--queue-wait-ms"),
        ("FASTFLIGHT_CONNECTIONS", "65", "--connections"),
        (
            "FASTFLIGHT_TLS_CLIENT_AUTH",
            "sometimes",
            "--tls-client-auth",
        ),
    ] {
        let output = Command::new(demo_binary())
            .args(["start-all", "--print-config"])
            .env(env, value)
            .env("FASTFLIGHT_TLS_CERT", "/settings/cert.pem")
            .env("FASTFLIGHT_TLS_KEY", "/settings/key.pem")
            .env("FASTFLIGHT_TLS_CLIENT_CA", "/settings/ca.pem")
            .bounded_output()
            .expect("fastflight-demo runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{env}={value} was taken");
        assert!(stderr.contains(named), "{env}={value}: {stderr}");
        assert!(stderr.contains(value), "{env}={value}: {stderr}");
    }
}
