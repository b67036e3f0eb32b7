# The zone's entry-point rulesets for http_request_firewall_custom and
# http_ratelimit. A zone has exactly one entry-point ruleset per phase, so
# exactly one Terraform root may own each of them: environments/zone, which
# builds the rules from every environment's api hostname in the zone.
# Creating them from each environment would make the second apply collide.

locals {
  api_hosts = "http.host in {${join(" ", [for h in var.api_hostnames : "\"${h}\""])}}"
  api_paths = "starts_with(http.request.uri.path, \"/v1/\")"

  # WAF custom rules valid on every plan: a coarse first line in front of
  # the gateway's own tokenising scanner (zt-security), which stays the
  # precise one.
  waf_rules = [
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
  ]

  # cf.bot_management.score exists only with Enterprise Bot Management; on
  # any other zone the API rejects the expression, so the rule is added only
  # when bot_management_enabled is true.
  bot_rule = {
    ref         = "challenge_api_bots"
    description = "Challenge API requests with a bot score under ${var.bot_score_threshold} (Enterprise Bot Management)"
    action      = "managed_challenge"
    expression  = "(${local.api_hosts} and ${local.api_paths} and cf.bot_management.score lt ${var.bot_score_threshold} and not cf.bot_management.verified_bot)"
    enabled     = true
  }

  # Rate-limit parameters per zone plan (developers.cloudflare.com/waf/
  # rate-limiting-rules, "Availability"). Free: one rule, period and
  # mitigation timeout 10 s only, counting by IP, and only the path and
  # verified-bot fields in the expression (so no http.host: the rule covers
  # /v1/ on every host of the zone), so the per-minute budget is scaled to
  # 10 s. Pro and up: periods up to 1 min and the host field.
  rate_limit_plans = {
    free = {
      expression          = local.api_paths
      period              = 10
      mitigation_timeout  = 10
      requests_per_period = ceil(var.api_rate_limit_per_minute / 6)
    }
    pro = {
      expression          = "(${local.api_hosts} and ${local.api_paths})"
      period              = 60
      mitigation_timeout  = 60
      requests_per_period = var.api_rate_limit_per_minute
    }
    business = {
      expression          = "(${local.api_hosts} and ${local.api_paths})"
      period              = 60
      mitigation_timeout  = 60
      requests_per_period = var.api_rate_limit_per_minute
    }
    enterprise = {
      expression          = "(${local.api_hosts} and ${local.api_paths})"
      period              = 60
      mitigation_timeout  = 60
      requests_per_period = var.api_rate_limit_per_minute
    }
  }
  rate_limit = local.rate_limit_plans[var.zone_plan]
}

resource "cloudflare_ruleset" "waf_custom" {
  zone_id     = var.zone_id
  name        = "edgeforge WAF custom rules"
  description = "Block obvious SQLi/XSS in the query string; with Bot Management, challenge likely bots on the API."
  kind        = "zone"
  phase       = "http_request_firewall_custom"
  rules       = concat(local.waf_rules, var.bot_management_enabled ? [local.bot_rule] : [])

  lifecycle {
    precondition {
      condition     = !var.bot_management_enabled || var.zone_plan == "enterprise"
      error_message = "bot_management_enabled needs an Enterprise zone with the Bot Management add-on (cf.bot_management.score)."
    }
  }
}

resource "cloudflare_ruleset" "rate_limit" {
  zone_id     = var.zone_id
  name        = "edgeforge rate limits"
  description = "Per-IP ceiling at the edge; exact per-user limits run in the Worker's Durable Object."
  kind        = "zone"
  phase       = "http_ratelimit"
  rules = [
    {
      ref         = "api_per_ip"
      description = "API requests per client IP and location"
      action      = "block"
      expression  = local.rate_limit.expression
      enabled     = true
      ratelimit = {
        characteristics     = ["cf.colo.id", "ip.src"]
        period              = local.rate_limit.period
        requests_per_period = local.rate_limit.requests_per_period
        mitigation_timeout  = local.rate_limit.mitigation_timeout
      }
    },
  ]
}
