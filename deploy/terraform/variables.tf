variable "region" {
  description = "AWS region of the DSQL cluster, the cursor table and the EKS cluster."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of every resource name (table, roles, repository)."
  type        = string
  default     = "hotrow"
}

variable "eks_cluster_name" {
  description = "The EKS cluster the hubs run in; its IAM OIDC provider must exist (eksctl --with-oidc creates it)."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of the hubs (deploy/k8s/namespace.yaml)."
  type        = string
  default     = "hotrow"
}

variable "hub_service_account" {
  description = "Service account of the hubs (deploy/k8s/serviceaccounts.yaml)."
  type        = string
  default     = "hotrow"
}

variable "migrate_service_account" {
  description = "Service account of the migration job (deploy/k8s/migrate/job.yaml)."
  type        = string
  default     = "hotrow-migrate"
}

variable "deletion_protection" {
  description = "Refuse to delete the DSQL cluster (set false only to tear a test account down)."
  type        = bool
  default     = true
}
