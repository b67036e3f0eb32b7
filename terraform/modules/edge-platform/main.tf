# The edgeforge platform around the Workers, one instance per environment.
# Ownership follows Cloudflare's guidance: wrangler owns Worker code,
# bindings, Durable Object migrations, cron triggers and the Workers route
# (workers/*/wrangler.toml); Terraform owns everything those bindings point
# at and everything in front of the Workers. The zone's WAF and rate-limit
# rulesets are not here: a zone has one entry-point ruleset per phase, so
# they live in environments/zone (modules/zone-rulesets), applied once per
# zone for every environment's hostname.

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

# The admin countries as an OR: Access ORs the rules of an `include` and
# ANDs the rules of a `require`, so one geo rule per country in the
# policy's `require` would admit nobody as soon as there are two countries.
resource "cloudflare_zero_trust_access_group" "admin_countries" {
  account_id = var.account_id
  name       = "${local.prefix} admin countries"
  include = [
    for c in var.admin_countries : { geo = { country_code = c } }
  ]
}

# Admins: anyone with an address in the admin domain (include) who also
# connects from one of the admin countries (require the group above).
resource "cloudflare_zero_trust_access_policy" "admins" {
  account_id = var.account_id
  name       = "${local.prefix} admins"
  decision   = "allow"
  include = [
    { email_domain = { domain = var.admin_email_domain } },
  ]
  require = [
    { group = { id = cloudflare_zero_trust_access_group.admin_countries.id } },
  ]
  session_duration = "8h"
}

# Account-scoped like the reusable policy it references (a zone-scoped
# application referencing account-level policies is not a documented
# combination).
resource "cloudflare_zero_trust_access_application" "admin" {
  account_id       = var.account_id
  name             = "${local.prefix} admin API"
  type             = "self_hosted"
  domain           = "${var.api_hostname}/admin"
  session_duration = "8h"
  policies = [
    { id = cloudflare_zero_trust_access_policy.admins.id, precedence = 1 },
  ]
}

# The api hostname is proxied so the Workers route declared in
# workers/api/wrangler.toml receives it. The content is the discard prefix:
# every request is answered by the Worker, never by an origin.
resource "cloudflare_dns_record" "api" {
  zone_id = var.zone_id
  name    = var.api_hostname
  type    = "AAAA"
  content = "100::"
  proxied = true
  ttl     = 1
  comment = "edgeforge ${var.environment} api (served by the Workers route in workers/api/wrangler.toml)"

  lifecycle {
    precondition {
      condition     = endswith(var.api_hostname, ".${var.zone_name}") && !strcontains(trimsuffix(var.api_hostname, ".${var.zone_name}"), ".")
      error_message = "api_hostname must be exactly one label under zone_name (api-staging.example.com, not api.staging.example.com): Universal SSL covers the apex and one level of subdomains only."
    }
  }
}
