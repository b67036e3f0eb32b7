variable "account_id" {
  description = "Cloudflare account id."
  type        = string
}

variable "zone_id" {
  description = "Zone id of the domain the gateway serves."
  type        = string
}

variable "environment" {
  description = "staging or production; used in resource names."
  type        = string
  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "api_hostname" {
  description = "Hostname of the api Worker, e.g. api.example.com."
  type        = string
}

variable "api_worker_script" {
  description = "Name of the api Worker script deployed by wrangler (wrangler owns the code)."
  type        = string
}

variable "admin_email_domain" {
  description = "Email domain allowed into /admin/* through Cloudflare Access."
  type        = string
}

variable "admin_countries" {
  description = "Countries admins may connect from (ISO 3166-1 alpha-2)."
  type        = list(string)
  default     = ["US"]
}

variable "r2_location" {
  description = "R2 location hint (wnam, enam, weur, eeur, apac, oc)."
  type        = string
  default     = "weur"
}

variable "api_rate_limit_per_minute" {
  description = "Edge rate limit per client IP for /v1/* before requests reach the Worker."
  type        = number
  default     = 600
}
