output "ruleset_ids" {
  description = "Entry-point ruleset ids by phase."
  value = {
    http_request_firewall_custom = cloudflare_ruleset.waf_custom.id
    http_ratelimit               = cloudflare_ruleset.rate_limit.id
  }
}
