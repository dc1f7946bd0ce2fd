//! Small text helpers shared by both macros.

use proc_macro2::TokenStream;

/// Tokens as compact text: `Option<Vec<String>>`, `std::sync::Arc<Pool>`.
pub fn compact(tokens: &TokenStream) -> String {
    let text = tokens.to_string();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let prev = out.chars().last();
            let next = chars.peek().copied();
            let glue = |ch: Option<char>| {
                matches!(ch, Some('<' | '>' | ':' | '&' | '(' | ')' | '[' | ']'))
            };
            if glue(prev) || glue(next) || next == Some(',') {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// `synthetic_data` → `SyntheticData`.
pub fn camel(snake: &str) -> String {
    snake
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// `SqlQuery` → `sql_query`, `HTTPRequest` → `http_request`, `Orders2` → `orders2`.
pub fn snake(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                None | Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) => p.is_uppercase() && next.is_some_and(char::is_lowercase),
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A serde `rename_all` rule applied to a snake_case field name.
pub fn rename(rule: &str, field: &str) -> Option<String> {
    let words: Vec<&str> = field.split('_').filter(|w| !w.is_empty()).collect();
    Some(match rule {
        "snake_case" => field.to_owned(),
        "lowercase" => field.to_lowercase(),
        "UPPERCASE" => field.to_uppercase(),
        "SCREAMING_SNAKE_CASE" => field.to_uppercase(),
        "kebab-case" => words.join("-"),
        "SCREAMING-KEBAB-CASE" => words.join("-").to_uppercase(),
        "PascalCase" => camel(field),
        "camelCase" => {
            let pascal = camel(field);
            let mut chars = pascal.chars();
            chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
        _ => return None,
    })
}

/// A serde `rename_all` rule applied to a PascalCase variant name.
pub fn rename_variant(rule: &str, variant: &str) -> Option<String> {
    let mut snake = String::new();
    for (i, c) in variant.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.extend(c.to_lowercase());
    }
    Some(match rule {
        "PascalCase" => variant.to_owned(),
        "lowercase" => variant.to_lowercase(),
        "UPPERCASE" => variant.to_uppercase(),
        "camelCase" => {
            let mut chars = variant.chars();
            chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
        other => rename(other, &snake)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn compact_types() {
        assert_eq!(compact(&quote!(Option<Vec<String>>)), "Option<Vec<String>>");
        assert_eq!(
            compact(&quote!(std::collections::HashMap<String, u64>)),
            "std::collections::HashMap<String, u64>"
        );
    }

    #[test]
    fn renames() {
        assert_eq!(camel("synthetic_data"), "SyntheticData");
        assert_eq!(rename("camelCase", "batch_size").unwrap(), "batchSize");
        assert_eq!(rename("kebab-case", "batch_size").unwrap(), "batch-size");
        assert!(rename("nonsense", "x").is_none());
        assert_eq!(
            rename_variant("snake_case", "LimitOrder").unwrap(),
            "limit_order"
        );
        assert_eq!(
            rename_variant("SCREAMING-KEBAB-CASE", "LimitOrder").unwrap(),
            "LIMIT-ORDER"
        );
        assert_eq!(
            rename_variant("camelCase", "LimitOrder").unwrap(),
            "limitOrder"
        );
        assert_eq!(snake("SqlQuery"), "sql_query");
        assert_eq!(snake("EchoParams"), "echo_params");
        assert_eq!(snake("HTTPRequest"), "http_request");
        assert_eq!(snake("Orders2"), "orders2");
        assert_eq!(snake("Prices"), "prices");
    }
}
