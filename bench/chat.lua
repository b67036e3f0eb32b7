-- wrk script: POST a small chat completion with the bearer token in $TOKEN.
wrk.method = "POST"
wrk.body = '{"model":"bench-1","messages":[{"role":"user","content":"hello from wrk"}]}'
wrk.headers["content-type"] = "application/json"
wrk.headers["user-agent"] = "wrk-bench"
local token = os.getenv("TOKEN")
if token then
  wrk.headers["authorization"] = "Bearer " .. token
end
