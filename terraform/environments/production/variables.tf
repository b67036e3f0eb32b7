variable "account_id" {
  description = "Cloudflare account id."
  type        = string
}

variable "zone_id" {
  description = "Zone id."
  type        = string
}

variable "zone_name" {
  description = "Domain of the zone, e.g. example.com."
  type        = string
}

variable "api_hostname" {
  description = "Hostname of the api Worker, one label under zone_name (Universal SSL covers one level)."
  type        = string
}

variable "admin_email_domain" {
  description = "Email domain allowed into /admin/*."
  type        = string
}

variable "admin_countries" {
  description = "Countries admins may connect from (any one of them admits)."
  type        = list(string)
  default     = ["US"]
}
