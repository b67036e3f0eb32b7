output "kv_namespace_ids" {
  description = "KV namespace ids by purpose; scripts/render-wrangler-ids.sh writes them into the wrangler files."
  value       = { for k, ns in cloudflare_workers_kv_namespace.this : k => ns.id }
}

output "r2_buckets" {
  description = "R2 bucket names."
  value = {
    assets  = cloudflare_r2_bucket.assets.name
    prompts = cloudflare_r2_bucket.prompts.name
  }
}

output "access_aud" {
  description = "AUD tag of the admin Access application (security.access.aud in the gateway config)."
  value       = cloudflare_zero_trust_access_application.admin.aud
}

output "api_hostname" {
  description = "Hostname of the api Worker."
  value       = var.api_hostname
}

output "wrangler_route" {
  description = "The api Worker's route for workers/api/wrangler.toml (wrangler owns the route): routes = [{ pattern = ..., zone_name = ... }]."
  value = {
    pattern   = "${var.api_hostname}/*"
    zone_name = var.zone_name
  }
}
