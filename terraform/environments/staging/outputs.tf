output "kv_namespace_ids" {
  description = "KV namespace ids by purpose."
  value       = module.edge_platform.kv_namespace_ids
}

output "r2_buckets" {
  description = "R2 bucket names."
  value       = module.edge_platform.r2_buckets
}

output "access_aud" {
  description = "AUD tag for security.access.aud."
  value       = module.edge_platform.access_aud
}

output "api_hostname" {
  description = "Hostname of the api Worker."
  value       = module.edge_platform.api_hostname
}

output "wrangler_route" {
  description = "The api Worker's route for workers/api/wrangler.toml (wrangler owns it)."
  value       = module.edge_platform.wrangler_route
}
