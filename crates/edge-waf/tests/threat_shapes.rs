#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Shapes the committed corpora under-represent (issue 19, part 4), each
//! class with benign traps beside it: break-outs from identifier quoting,
//! values percent-encoded three times or more, and boolean/time payloads
//! wrapped in dialect functions.

use edge_waf::{InputKind, ThreatScanner};

fn blocked(value: &str) -> bool {
    ThreatScanner::default().is_attack(InputKind::Query, value)
}

#[test]
fn identifier_quote_breakouts_and_their_traps() {
    for attack in [
        "id` , (SELECT SLEEP(5))-- x",
        "name`) OR 1=1-- x",
        "col` DESC; DROP TABLE users-- x",
        "a] ; EXEC xp_cmdshell('dir')--",
        "a]) OR 1=1--",
        "title`,(select case when (1=1) then 1 else 1/0 end)-- -",
    ] {
        assert!(blocked(attack), "{attack}");
    }
    for benign in [
        "page[size]=25",
        "filter[status]=active",
        "`#[derive(Deserialize)]`.",
        "]);",
        "The `=` pad bytes are optional",
        "[`Cow<'a, T>`]",
    ] {
        assert!(!blocked(benign), "{benign}");
    }
}

#[test]
fn values_encoded_three_times_or_more_are_read_at_every_layer() {
    let layers = |payload: &str, times: usize| {
        let mut v = payload.to_owned();
        for _ in 0..times {
            v = v
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
        }
        v
    };
    for payload in [
        "' or 1=1--",
        "' union select password from users--",
        "\"><script>alert(1)</script>",
    ] {
        for times in 1..=6 {
            let v = layers(payload, times);
            assert!(blocked(&v), "{payload} encoded {times} times: {v}");
        }
    }
    for benign in ["100%25 off", "50%2525 discount", "a%252Fb%252Fc"] {
        assert!(!blocked(benign), "{benign}");
    }
}

#[test]
fn boolean_and_time_payloads_wrapped_in_dialect_functions() {
    for attack in [
        "1 AND ELT(1=1,SLEEP(5))",
        "1 AND MAKE_SET(5321=5321,1)",
        "1 AND 5=(CASE WHEN (1=1) THEN 5 ELSE 0 END)",
        "1 AND 1=(SELECT COUNT(*) FROM GENERATE_SERIES(1,5000000))",
        "1 AND 2=RAISE_ERROR('70001','x')",
        "1 AND EXTRACTVALUE(1,CONCAT(0x5c,(SELECT version())))",
        "1 AND UPDATEXML(1,CONCAT(0x7e,(SELECT user())),1)",
        "1 OR 1=DBMS_PIPE.RECEIVE_MESSAGE('a',5)",
        "1 AND 5=LIKE('ABC',UPPER(HEX(RANDOMBLOB(500000000/2))))",
        "1 AND 1=(SELECT COUNT(*) FROM RDB$FIELDS AS T1, RDB$TYPES AS T2)",
        "1 AND 1=(SELECT COUNT(*) FROM SYSIBM.SYSTABLES AS T1, SYSIBM.SYSTABLES AS T2)",
        "1 AND 1=CONVERT(INT,(SELECT @@version))",
        "1 AND IIF(1=1,1,0)=1",
        "1 AND 1=(SELECT XMLTYPE('<x>'||(SELECT user FROM dual)||'</x>') FROM dual)",
        "1 AND JSON_KEYS((SELECT CONCAT(0x7e,version())))",
        "1 AND 1=UTL_INADDR.GET_HOST_ADDRESS('x.attacker.test')",
        "1 RLIKE (SELECT (CASE WHEN (1=1) THEN 1 ELSE 0x28 END))",
    ] {
        assert!(blocked(attack), "{attack}");
    }
    for benign in [
        "case when the meeting ends, then lunch",
        "make set of tools",
        "generate series of photos",
    ] {
        assert!(!blocked(benign), "{benign}");
    }
}
