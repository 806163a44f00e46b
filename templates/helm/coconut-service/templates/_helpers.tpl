{{/* Names, labels and the image reference, shared by every template. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "coconut-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource names: fullnameOverride, else the release name (plus the chart name unless it contains it). */}}
{{- define "coconut-service.fullname" -}}
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

{{- define "coconut-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable for the life of the release (a Deployment selector cannot change). The canary
track (a context with Track "canary", see deployment.yaml) gets its own instance value, so neither the stable
Deployment nor the stable Service ever selects canary pods: the HTTPRoute weights alone split the traffic. */}}
{{- define "coconut-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "coconut-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}{{ if .Track }}-canary{{ end }}
{{- end }}

{{/* Name of a track's Deployment and Service: the full name, plus "-canary" for the canary track. */}}
{{- define "coconut-service.trackName" -}}
{{- if .Track }}
{{- printf "%s-canary" (include "coconut-service.fullname" . | trunc 56 | trimSuffix "-") }}
{{- else }}
{{- include "coconut-service.fullname" . }}
{{- end }}
{{- end }}

{{/* The canary track's values: the chart's values with canary.image over image, canary.replicaCount
replicas and no autoscaler. Built in each template that renders both tracks (a template cannot return a map). */}}

{{- define "coconut-service.labels" -}}
helm.sh/chart: {{ include "coconut-service.chart" . }}
{{ include "coconut-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "coconut-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "coconut-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest; repository:tag only when image.allowMutableTag is set (values.schema.json enforces it). */}}
{{- define "coconut-service.image" -}}
{{- if .Values.image.allowMutableTag }}
{{- printf "%s:%s" .Values.image.repository (required "image.tag is required when image.allowMutableTag is true" .Values.image.tag) }}
{{- else }}
{{- printf "%s@%s" .Values.image.repository (required "image.digest is required: images are deployed by digest" .Values.image.digest) }}
{{- end }}
{{- end }}
