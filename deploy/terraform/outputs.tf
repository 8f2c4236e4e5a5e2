# The values deploy/k8s needs (deploy/README.md says where each goes).

output "region" {
  description = "AWS_REGION of the hubs."
  value       = var.region
}

output "dsql_endpoint" {
  description = "DSQL_ENDPOINT of the hubs and the migrate job."
  value       = "${aws_dsql_cluster.this.identifier}.dsql.${var.region}.on.aws"
}

output "dsql_cluster_arn" {
  description = "The cluster, for the IAM GRANT of the hub role."
  value       = aws_dsql_cluster.this.arn
}

output "cursor_table" {
  description = "DYNAMODB_TABLE of the hubs."
  value       = aws_dynamodb_table.cursors.name
}

output "hub_role_arn" {
  description = "eks.amazonaws.com/role-arn of the hotrow service account."
  value       = aws_iam_role.hub.arn
}

output "migrate_role_arn" {
  description = "eks.amazonaws.com/role-arn of the hotrow-migrate service account."
  value       = aws_iam_role.migrate.arn
}

output "ecr_repository_url" {
  description = "newName of deploy/k8s/image/kustomization.yaml; where make image pushes."
  value       = aws_ecr_repository.hotrow.repository_url
}
