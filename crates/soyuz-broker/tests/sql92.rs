//! SQL92 filtering with `enablePropertyFilter=true`: pulls deliver only messages whose
//! properties satisfy the expression (from the request or from the heartbeat), a bad
//! expression is SUBSCRIPTION_PARSE_FAILED, and CHECK_CLIENT_CONFIG (46) says so first.

mod common;

use common::*;
use soyuz_remoting::body::{SubscriptionData, EXPRESSION_TYPE_SQL92};
use soyuz_remoting::response_code;

fn sql(topic: &str, expression: &str) -> SubscriptionData {
    SubscriptionData {
        topic: topic.to_owned(),
        sub_string: expression.to_owned(),
        expression_type: EXPRESSION_TYPE_SQL92.to_owned(),
        ..SubscriptionData::default()
    }
}

async fn stream(env: &Env, topic: &str) {
    let messages: Vec<Message> = (0..20)
        .map(|n| {
            Message::new(topic, &format!("m{n}"))
                .property("n", &n.to_string())
                .property("color", if n % 2 == 0 { "red" } else { "blue" })
        })
        .collect();
    env.send_all(&messages).await;
}

fn sql_pull(group: &str, topic: &str, expression: &str) -> Pull {
    let mut pull = Pull::new(group, topic, 0, 0).subscribe(expression);
    pull.header.expression_type = Some("SQL92".to_owned());
    pull
}

#[tokio::test]
async fn only_the_matching_messages_are_delivered() {
    let env = Env::start_with(|c| c.enable_property_filter = true).await;
    stream(&env, "Sql").await;
    let response = env
        .ask(
            sql_pull("sql", "Sql", "n >= 10 AND color = 'red'")
                .max(32)
                .request(),
        )
        .await;
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(bodies(&response), ["m10", "m12", "m14", "m16", "m18"]);
    // A property nobody has: unknown, never true.
    let none = env
        .ask(sql_pull("sql", "Sql", "size > 3").max(32).request())
        .await;
    assert_code(&none, response_code::PULL_RETRY_IMMEDIATELY);
}

#[tokio::test]
async fn a_heartbeat_subscription_in_sql92_filters_pulls() {
    let env = Env::start_with(|c| c.enable_property_filter = true).await;
    stream(&env, "SqlHb").await;
    let heartbeat = env
        .ask(consumer_heartbeat(
            "127.0.0.1@sql",
            "sql-hb",
            vec![sql("SqlHb", "color = 'blue' AND n BETWEEN 3 AND 7")],
        ))
        .await;
    assert_code(&heartbeat, response_code::SUCCESS);
    let response = env
        .ask(Pull::new("sql-hb", "SqlHb", 0, 0).max(32).request())
        .await;
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(bodies(&response), ["m3", "m5", "m7"]);
}

#[tokio::test]
async fn a_bad_expression_is_subscription_parse_failed_and_checked_up_front() {
    let env = Env::start_with(|c| c.enable_property_filter = true).await;
    stream(&env, "SqlBad").await;
    let response = env
        .ask(sql_pull("sql", "SqlBad", "n >>= 3 AND (").request())
        .await;
    assert_code(&response, response_code::SUBSCRIPTION_PARSE_FAILED);
    let good = env
        .ask(check_client_config("sql", sql("SqlBad", "n IN ('1', '2')")))
        .await;
    assert_code(&good, response_code::SUCCESS);
    let bad = env
        .ask(check_client_config("sql", sql("SqlBad", "n = ")))
        .await;
    assert_code(&bad, response_code::SUBSCRIPTION_PARSE_FAILED);
    // The broker keeps serving.
    let after = env
        .ask(sql_pull("sql", "SqlBad", "n = '4'").max(32).request())
        .await;
    assert_eq!(bodies(&after), ["m4"]);
}
