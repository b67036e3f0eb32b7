-- wrk script: GET a cached prompt template.
wrk.method = "GET"
wrk.headers["user-agent"] = "wrk-bench"
