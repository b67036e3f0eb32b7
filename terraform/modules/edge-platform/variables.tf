variable "account_id" {
  description = "Cloudflare account id."
  type        = string
}

variable "zone_id" {
  description = "Zone id of the domain the gateway serves."
  type        = string
}

variable "zone_name" {
  description = "Domain of that zone, e.g. example.com (api_hostname must be one label under it)."
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
  description = "Hostname of the api Worker, one label under zone_name (Universal SSL covers one level), e.g. api.example.com or api-staging.example.com."
  type        = string
}

variable "admin_email_domain" {
  description = "Email domain allowed into /admin/* through Cloudflare Access."
  type        = string
}

variable "admin_countries" {
  description = "Countries admins may connect from (ISO 3166-1 alpha-2); any one of them admits."
  type        = list(string)
  default     = ["US"]
  validation {
    condition     = length(var.admin_countries) > 0 && alltrue([for c in var.admin_countries : can(regex("^[A-Z]{2}$", c))])
    error_message = "admin_countries must list at least one ISO 3166-1 alpha-2 code in upper case, e.g. [\"US\", \"DE\"]."
  }
}

variable "r2_location" {
  description = "R2 location hint (wnam, enam, weur, eeur, apac, oc)."
  type        = string
  default     = "weur"
  validation {
    condition     = contains(["wnam", "enam", "weur", "eeur", "apac", "oc"], var.r2_location)
    error_message = "r2_location must be one of wnam, enam, weur, eeur, apac, oc (lower case)."
  }
}
