//! The custom states and services of an account as an indented table: the demo's step and
//! `thingspace states <ACCOUNT> --output table` print it.

use thingspace::m2m::StatesAndServices;

/// The custom states and services as an indented table.
pub(crate) fn states_table(states: &StatesAndServices) -> String {
    let mut out = String::new();
    // Text from the server, made safe for a terminal.
    let s = |v: &Option<String>| crate::safe_text::terminal_safe(v.as_deref().unwrap_or_default());
    for e in &states.engagement {
        out += &format!(
            "engagement {} ({})\n",
            s(&e.engagement_id),
            s(&e.charging_group)
        );
        for svc in &e.services {
            out += &format!("  service {}: {}\n", s(&svc.name), s(&svc.description));
            for st in &svc.states {
                let groups: Vec<String> = st
                    .rating_groups
                    .iter()
                    .map(|g| {
                        format!(
                            "{} [{}..{}]",
                            s(&g.code),
                            s(&g.rating_group_min_value),
                            s(&g.rating_group_max_value)
                        )
                    })
                    .collect();
                let plans: Vec<String> = st
                    .service_plans
                    .iter()
                    .map(|p| crate::safe_text::terminal_safe(p))
                    .collect();
                let listed = |items: &[String]| {
                    if items.is_empty() {
                        "none".to_owned()
                    } else {
                        items.join(", ")
                    }
                };
                out += &format!(
                    "    {:>4}  {:<22} plans: {}; rating groups: {}\n",
                    st.workflow_sequence_number
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), ToString::to_string),
                    s(&st.name),
                    listed(&plans),
                    listed(&groups),
                );
            }
        }
    }
    out
}
