{{/* Chart name, cut to the 63 characters of a label value. */}}
{{- define "stage2-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "stage2-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "stage2-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "stage2-operator.labels" -}}
helm.sh/chart: {{ include "stage2-operator.chart" . }}
{{ include "stage2-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: stage2-operator
{{- end }}

{{/* Labels that select the operator pod; they never change across upgrades. */}}
{{- define "stage2-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stage2-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "stage2-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "stage2-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Address every server of the pod binds: loopback with hostNetwork, so nothing listens on the node's interfaces. */}}
{{- define "stage2-operator.bindAddress" -}}
{{- if .Values.hostNetwork }}127.0.0.1{{ else }}0.0.0.0{{ end }}
{{- end }}

{{/* "true" when the webhook is on, else empty. */}}
{{- define "stage2-operator.webhookEnabled" -}}
{{- $enabled := toString .Values.webhook.enabled }}
{{- if eq $enabled "true" }}true
{{- else if eq $enabled "auto" }}
{{- if or (.Capabilities.APIVersions.Has "cert-manager.io/v1") .Values.webhook.certificate.cert .Values.webhook.existingSecret }}true{{ end }}
{{- end }}
{{- end }}

{{/* "true" when cert-manager issues the serving certificate: the webhook is on and no certificate is given. */}}
{{- define "stage2-operator.webhookCertManager" -}}
{{- if and (include "stage2-operator.webhookEnabled" .) (not .Values.webhook.certificate.cert) (not .Values.webhook.existingSecret) }}true{{ end }}
{{- end }}

{{- define "stage2-operator.webhookSecretName" -}}
{{- default (printf "%s-webhook-tls" (include "stage2-operator.fullname" .)) .Values.webhook.existingSecret }}
{{- end }}

{{/*
Rules for the namespaced objects the operator reads and writes: granted
cluster-wide by a ClusterRole, or per watched namespace by a Role.
*/}}
{{- define "stage2-operator.namespacedRules" -}}
- apiGroups: [stage2.dev]
  resources: [workflows]
  verbs: [get, list, watch, delete]
- apiGroups: [stage2.dev]
  resources: [workflows/status]
  verbs: [get, update, patch]
- apiGroups: [stage2.dev]
  resources: [operations]
  verbs: [get, list, watch]
- apiGroups: [stage2.dev]
  resources: [operations/status]
  verbs: [patch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete, deletecollection]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, delete, deletecollection]
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get, list, watch, create, patch, delete, deletecollection]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create]
{{- end }}

{{/* Cluster-scoped reads kopf needs: CRDs to find the resources, namespaces to expand namespace globs. */}}
{{- define "stage2-operator.clusterRules" -}}
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [namespaces]
  verbs: [list, watch]
{{- end }}
