# Two roles for two service accounts (IAM roles for service accounts):
#   hub:     dsql:DbConnect on the cluster, and the cursor table's items;
#   migrate: dsql:DbConnectAdmin on the cluster, nothing else.
# Each role trusts only its own service account in its own namespace.

data "aws_eks_cluster" "this" {
  name = var.eks_cluster_name
}

data "aws_iam_openid_connect_provider" "eks" {
  url = data.aws_eks_cluster.this.identity[0].oidc[0].issuer
}

locals {
  oidc_issuer = trimprefix(data.aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://")
}

data "aws_iam_policy_document" "hub_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [data.aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.hub_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "migrate_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [data.aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.migrate_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "hub" {
  name               = "${var.name}-hub"
  description        = "hotrow hubs: connect to DSQL as a non-admin role, read and write cursors"
  assume_role_policy = data.aws_iam_policy_document.hub_trust.json
}

resource "aws_iam_role" "migrate" {
  name               = "${var.name}-migrate"
  description        = "hotrow migrate job: connect to DSQL as admin"
  assume_role_policy = data.aws_iam_policy_document.migrate_trust.json
}

# The hubs: the actions are exactly the calls of rooms/cursors/dynamo's API
# interface (a test keeps them equal).
data "aws_iam_policy_document" "hub" {
  statement {
    sid       = "ConnectToDSQL"
    effect    = "Allow"
    actions   = ["dsql:DbConnect"]
    resources = [aws_dsql_cluster.this.arn]
  }

  statement {
    sid       = "Cursors"
    effect    = "Allow"
    actions   = ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.cursors.arn]
  }
}

data "aws_iam_policy_document" "migrate" {
  statement {
    sid       = "ConnectToDSQLAsAdmin"
    effect    = "Allow"
    actions   = ["dsql:DbConnectAdmin"]
    resources = [aws_dsql_cluster.this.arn]
  }
}

resource "aws_iam_role_policy" "hub" {
  name   = "${var.name}-hub"
  role   = aws_iam_role.hub.id
  policy = data.aws_iam_policy_document.hub.json
}

resource "aws_iam_role_policy" "migrate" {
  name   = "${var.name}-migrate"
  role   = aws_iam_role.migrate.id
  policy = data.aws_iam_policy_document.migrate.json
}
