{{/* Name of the controller's objects: "portico-controller" for a release called "portico". */}}
{{- define "portico.controller" -}}
{{- if eq .Release.Name "portico" -}}
portico-controller
{{- else -}}
{{- printf "%s-portico-controller" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object of the release. */}}
{{- define "portico.labels" -}}
app.kubernetes.io/name: portico
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels selecting the controller's pods. */}}
{{- define "portico.selector" -}}
app.kubernetes.io/name: portico
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{/* An image reference; the tag defaults to the chart's appVersion. */}}
{{- define "portico.image" -}}
{{- printf "%s:%s" .image.repository (default .appVersion .image.tag) -}}
{{- end -}}

{{/* How data planes reach the controller: its Service, over TLS when tls is on. */}}
{{- define "portico.controllerURL" -}}
{{- printf "%s://%s.%s.svc:%v" (ternary "https" "http" .Values.dataplane.tls) (include "portico.controller" .) .Release.Namespace .Values.controller.ports.grpc -}}
{{- end -}}
