//! 5.x timer messages: delivered at their time (to `timerPrecisionMs`), not before,
//! across a broker restart, and refused beyond `timerMaxDelaySec`.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use soyuz_remoting::response_code;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn pulled(env: &Env, topic: &str) -> Vec<soyuz_model::record::MessageRecord> {
    let response = env
        .ask(
            Pull::new("timer-reader", topic, 0, 0)
                .subscribe("*")
                .request(),
        )
        .await;
    if response.code == response_code::SUCCESS {
        records(&response.body)
    } else {
        Vec::new()
    }
}

#[tokio::test]
async fn a_timer_message_arrives_at_its_time_and_not_before() {
    let env = Env::start().await;
    let deliver_at = now_ms() + 1_500;
    env.send(
        &Message::new("Timed", "on time").property("TIMER_DELIVER_MS", &deliver_at.to_string()),
    )
    .await;
    assert!(
        pulled(&env, "Timed").await.is_empty(),
        "not before its time"
    );
    let arrived = eventually("the timer message", || async {
        let got = pulled(&env, "Timed").await;
        (!got.is_empty()).then_some(got)
    })
    .await;
    let seen_at = now_ms();
    let due = deliver_at - deliver_at % 1000;
    assert!(seen_at >= due, "delivered {} ms early", due - seen_at);
    assert!(
        seen_at <= due + 1_000,
        "delivered {} ms late",
        seen_at - due
    );
    let props = properties(&arrived[0]);
    assert_eq!(props.get("TIMER_OUT_MS"), Some(&due.to_string()));
    assert!(!props.contains_key("TIMER_DELIVER_MS"));
    assert_eq!(arrived[0].body.as_ref(), b"on time");
}

#[tokio::test]
async fn a_waiting_timer_message_survives_a_broker_restart() {
    let mut env = Env::start().await;
    env.send(&Message::new("TimedRestart", "waited").property("TIMER_DELAY_SEC", "2"))
        .await;
    env.restart_with(|_| {}).await;
    let arrived = eventually("the timer message after a restart", || async {
        let got = pulled(&env, "TimedRestart").await;
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(arrived.len(), 1);
    assert_eq!(arrived[0].body.as_ref(), b"waited");
}

#[tokio::test]
async fn a_timer_beyond_the_maximum_delay_is_message_illegal() {
    let env = Env::start_with(|c| c.timer_max_delay_sec = 60).await;
    let response = env
        .ask(
            Message::new("TooFar", "x")
                .property("TIMER_DELAY_SEC", "61")
                .send_v2(),
        )
        .await;
    assert_code(&response, response_code::MESSAGE_ILLEGAL);
    let past = env
        .ask(
            Message::new("Past", "now")
                .property("TIMER_DELIVER_MS", "1000")
                .send_v2(),
        )
        .await;
    assert_code(&past, response_code::SUCCESS);
}
