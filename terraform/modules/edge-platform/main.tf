# The edgeforge platform around the Workers. Ownership follows Cloudflare's
# guidance: wrangler owns Worker code, bindings, Durable Object migrations
# and cron triggers (workers/*/wrangler.toml); Terraform owns everything
# those bindings point at and everything in front of the Workers.

locals {
  prefix = "edgeforge-${var.environment}"
  kv_namespaces = {
    cache    = "${local.prefix}-cache"
    routing  = "${local.prefix}-routing"
    security = "${local.prefix}-security"
    sessions = "${local.prefix}-sessions"
  }
}

resource "cloudflare_workers_kv_namespace" "this" {
  for_each   = local.kv_namespaces
  account_id = var.account_id
  title      = each.value
}

resource "cloudflare_r2_bucket" "assets" {
  account_id = var.account_id
  name       = "${local.prefix}-assets"
  location   = var.r2_location
}

resource "cloudflare_r2_bucket" "prompts" {
  account_id = var.account_id
  name       = "${local.prefix}-prompts"
  location   = var.r2_location
}

# WAF custom rules: a coarse first line in front of the gateway's own
# tokenising scanner (zt-security), which stays the precise one.
resource "cloudflare_ruleset" "waf_custom" {
  zone_id     = var.zone_id
  name        = "${local.prefix} WAF custom rules"
  description = "Block obvious SQLi/XSS in the query string; challenge likely bots on the API."
  kind        = "zone"
  phase       = "http_request_firewall_custom"
  rules = [
    {
      ref         = "block_sqli_query"
      description = "SQL injection patterns in the query string"
      action      = "block"
      expression  = "(lower(url_decode(http.request.uri.query)) contains \"union select\") or (lower(url_decode(http.request.uri.query)) contains \"' or '1'='1\") or (lower(url_decode(http.request.uri.query)) contains \"sleep(\") or (lower(url_decode(http.request.uri.query)) contains \"information_schema\")"
      enabled     = true
    },
    {
      ref         = "block_xss_query"
      description = "Script injection patterns in the query string"
      action      = "block"
      expression  = "(lower(url_decode(http.request.uri.query)) contains \"<script\") or (lower(url_decode(http.request.uri.query)) contains \"javascript:\") or (lower(url_decode(http.request.uri.query)) contains \"onerror=\")"
      enabled     = true
    },
    {
      ref         = "challenge_api_bots"
      description = "Challenge API requests with a bot score under 30 (Bot Management)"
      action      = "managed_challenge"
      expression  = "(http.host eq \"${var.api_hostname}\" and starts_with(http.request.uri.path, \"/v1/\") and cf.bot_management.score lt 30 and not cf.bot_management.verified_bot)"
      enabled     = true
    },
  ]
}

resource "cloudflare_ruleset" "rate_limit" {
  zone_id     = var.zone_id
  name        = "${local.prefix} rate limits"
  description = "Per-IP ceiling at the edge; exact per-user limits run in the Worker's Durable Object."
  kind        = "zone"
  phase       = "http_ratelimit"
  rules = [
    {
      ref         = "api_per_ip"
      description = "API requests per client IP per minute"
      action      = "block"
      expression  = "(http.host eq \"${var.api_hostname}\" and starts_with(http.request.uri.path, \"/v1/\"))"
      enabled     = true
      ratelimit = {
        characteristics     = ["cf.colo.id", "ip.src"]
        period              = 60
        requests_per_period = var.api_rate_limit_per_minute
        mitigation_timeout  = 60
      }
    },
  ]
}

resource "cloudflare_zero_trust_access_policy" "admins" {
  account_id = var.account_id
  name       = "${local.prefix} admins"
  decision   = "allow"
  include = [
    { email_domain = { domain = var.admin_email_domain } },
  ]
  require = [
    for c in var.admin_countries : { geo = { country_code = c } }
  ]
  session_duration = "8h"
}

resource "cloudflare_zero_trust_access_application" "admin" {
  zone_id          = var.zone_id
  name             = "${local.prefix} admin API"
  type             = "self_hosted"
  domain           = "${var.api_hostname}/admin"
  session_duration = "8h"
  policies = [
    { id = cloudflare_zero_trust_access_policy.admins.id, precedence = 1 },
  ]
}

# The api hostname is proxied so the Workers route below receives it.
resource "cloudflare_dns_record" "api" {
  zone_id = var.zone_id
  name    = var.api_hostname
  type    = "AAAA"
  content = "100::"
  proxied = true
  ttl     = 1
  comment = "edgeforge ${var.environment} api (served by a Workers route)"
}

resource "cloudflare_workers_route" "api" {
  zone_id = var.zone_id
  pattern = "${var.api_hostname}/*"
  script  = var.api_worker_script
}
