{{/*
Names, labels and the shared pieces of every pod. Talk is configured ONLY
through TALK_* environment variables: the ConfigMap holds the non-secret ones,
the Secret (or .Values.existingSecret) the secret ones, and every container
reads both with envFrom.
*/}}

{{- define "talk.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "talk.fullname" -}}
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

{{- define "talk.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "talk.labels" -}}
helm.sh/chart: {{ include "talk.chart" . }}
{{ include "talk.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: talk
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "talk.selectorLabels" -}}
app.kubernetes.io/name: {{ include "talk.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The six services. Key = key under .Values.services; name = suffix of the
Kubernetes objects and the `talk serve` argument; addrEnv = the variable that
sets its listen address; portName = the name of its container/Service port.
*/}}
{{- define "talk.services" -}}
edge:
  name: edge
  addrEnv: TALK_EDGE_ADDR
  portName: http
  protocol: http
pushGateway:
  name: push-gateway
  addrEnv: TALK_PUSH_ADDR
  portName: http
  protocol: http
agentService:
  name: agent-service
  addrEnv: TALK_AGENT_ADDR
  portName: grpc
  protocol: grpc
talkService:
  name: talk-service
  addrEnv: TALK_TALK_ADDR
  portName: grpc
  protocol: grpc
messageService:
  name: message-service
  addrEnv: TALK_MESSAGE_ADDR
  portName: grpc
  protocol: grpc
webhookService:
  name: webhook-service
  addrEnv: TALK_WEBHOOK_ADDR
  portName: grpc
  protocol: grpc
fileService:
  name: file-service
  addrEnv: TALK_FILE_ADDR
  portName: grpc
  protocol: grpc
{{- end }}

{{/* Name of the Deployment/Service of one service: (dict "root" $ "name" "edge"). */}}
{{- define "talk.componentName" -}}
{{- printf "%s-%s" (include "talk.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "talk.componentLabels" -}}
{{ include "talk.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "talk.componentSelectorLabels" -}}
{{ include "talk.selectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "talk.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "talk.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "talk.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Name of the Secret every pod reads. */}}
{{- define "talk.secretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else }}
{{- include "talk.fullname" . }}
{{- end }}
{{- end }}

{{/*
Non-secret configuration, as TALK_* variables (a YAML map of strings). Shared
by the ConfigMap and the migration Job (a pre-install hook runs before the
ConfigMap exists, so the Job carries these inline).
*/}}
{{- define "talk.config" -}}
{{- $fullname := include "talk.fullname" . }}
{{- $s := .Values.services }}
TALK_BUS: "nats"
TALK_NATS_URL: {{ required "nats.url is required (Talk uses an external NATS JetStream)" .Values.nats.url | quote }}
TALK_NATS_STREAM: {{ .Values.nats.stream | quote }}
TALK_SUBJECT_PREFIX: {{ .Values.nats.subjectPrefix | quote }}
TALK_EVENT_RETENTION_SECS: {{ .Values.nats.eventRetentionSecs | int64 | quote }}
TALK_DATABASE_MAX_CONNECTIONS: {{ .Values.database.maxConnections | int64 | quote }}
TALK_DATA_DIR: "/tmp/talk-data"
TALK_EDGE_ADDR: {{ printf "0.0.0.0:%d" (int64 $s.edge.port) | quote }}
TALK_PUSH_ADDR: {{ printf "0.0.0.0:%d" (int64 $s.pushGateway.port) | quote }}
TALK_AGENT_ADDR: {{ printf "0.0.0.0:%d" (int64 $s.agentService.port) | quote }}
TALK_TALK_ADDR: {{ printf "0.0.0.0:%d" (int64 $s.talkService.port) | quote }}
TALK_MESSAGE_ADDR: {{ printf "0.0.0.0:%d" (int64 $s.messageService.port) | quote }}
TALK_WEBHOOK_ADDR: {{ printf "0.0.0.0:%d" (int64 $s.webhookService.port) | quote }}
TALK_FILE_ADDR: {{ printf "0.0.0.0:%d" (int64 $s.fileService.port) | quote }}
TALK_OPS_ADDR: {{ printf "0.0.0.0:%d" (int64 .Values.opsPort) | quote }}
{{- /* With mutual TLS the clients speak TLS, which tonic does to https:// only. */}}
{{- $scheme := ternary "https" "http" .Values.grpcTls.enabled }}
TALK_AGENT_SERVICE_URL: {{ printf "%s://%s-agent-service:%d" $scheme $fullname (int64 $s.agentService.port) | quote }}
TALK_TALK_SERVICE_URL: {{ printf "%s://%s-talk-service:%d" $scheme $fullname (int64 $s.talkService.port) | quote }}
TALK_MESSAGE_SERVICE_URL: {{ printf "%s://%s-message-service:%d" $scheme $fullname (int64 $s.messageService.port) | quote }}
TALK_WEBHOOK_SERVICE_URL: {{ printf "%s://%s-webhook-service:%d" $scheme $fullname (int64 $s.webhookService.port) | quote }}
TALK_FILE_SERVICE_URL: {{ printf "%s://%s-file-service:%d" $scheme $fullname (int64 $s.fileService.port) | quote }}
{{- if .Values.grpcTls.enabled }}
TALK_GRPC_TLS_CERT: {{ printf "%s/tls.crt" (include "talk.grpcTlsDir" .) | quote }}
TALK_GRPC_TLS_KEY: {{ printf "%s/tls.key" (include "talk.grpcTlsDir" .) | quote }}
TALK_GRPC_TLS_CA: {{ printf "%s/ca.crt" (include "talk.grpcTlsDir" .) | quote }}
{{- end }}
TALK_TOKEN_TTL_SECS: {{ .Values.auth.tokenTtlSecs | int64 | quote }}
TALK_REFRESH_TTL_SECS: {{ .Values.auth.refreshTtlSecs | int64 | quote }}
{{- $l := .Values.limits }}
TALK_RATE_AGENT_WRITES_PER_SEC: {{ $l.agentWritesPerSec | int64 | quote }}
TALK_RATE_AGENT_READS_PER_SEC: {{ $l.agentReadsPerSec | int64 | quote }}
TALK_RATE_CUSTOMER_PER_SEC: {{ $l.customerPerSec | int64 | quote }}
TALK_RATE_LOGIN_ADDRESS_PER_MIN: {{ $l.loginAddressPerMin | int64 | quote }}
TALK_RATE_LOGIN_USERNAME_PER_MIN: {{ $l.loginUsernamePerMin | int64 | quote }}
TALK_WS_FRAMES_PER_SEC: {{ $l.wsFramesPerSec | int64 | quote }}
TALK_WS_MAX_CONNECTIONS_PER_AGENT: {{ $l.wsMaxConnectionsPerAgent | int64 | quote }}
TALK_MAX_PARTICIPANTS_PER_TALK: {{ $l.maxParticipantsPerTalk | int64 | quote }}
TALK_MAX_TALKS_PER_CUSTOMER: {{ $l.maxTalksPerCustomer | int64 | quote }}
TALK_MAX_THREAD_REPLIES: {{ $l.maxThreadReplies | int64 | quote }}
{{- /* The edge sits behind the ingress, which appends the client's address. */}}
TALK_TRUST_FORWARDED_FOR: "true"
TALK_WS_ALLOWED_ORIGINS: {{ .Values.config.wsAllowedOrigins | quote }}
TALK_HSTS_MAX_AGE_SECS: {{ .Values.config.hstsMaxAgeSecs | int64 | quote }}
TALK_COOKIE_SECURE: {{ .Values.config.cookieSecure | quote }}
TALK_MAX_BODY_BYTES: {{ .Values.config.maxBodyBytes | int64 | quote }}
TALK_WS_PING_SECS: {{ .Values.config.wsPingSecs | int64 | quote }}
{{- $w := .Values.webhooks }}
TALK_WEBHOOK_TIMEOUT_MS: {{ $w.timeoutMs | int64 | quote }}
TALK_WEBHOOK_MAX_PER_CUSTOMER: {{ $w.maxPerCustomer | int64 | quote }}
TALK_WEBHOOK_CONCURRENCY_PER_ENDPOINT: {{ $w.concurrencyPerEndpoint | int64 | quote }}
TALK_WEBHOOK_DISABLE_AFTER_SECS: {{ $w.disableAfterSecs | int64 | quote }}
TALK_WEBHOOK_SECRET_GRACE_SECS: {{ $w.secretGraceSecs | int64 | quote }}
TALK_WEBHOOK_ALLOW_PRIVATE: {{ $w.allowPrivate | quote }}
{{- $f := .Values.files }}
TALK_FILE_STORAGE: {{ $f.storage | quote }}
{{- with $f.dir }}
TALK_FILE_DIR: {{ . | quote }}
{{- end }}
TALK_FILE_S3_ENDPOINT: {{ $f.s3.endpoint | quote }}
TALK_FILE_S3_BUCKET: {{ $f.s3.bucket | quote }}
TALK_FILE_S3_REGION: {{ $f.s3.region | quote }}
TALK_FILE_MAX_BYTES: {{ $f.maxBytes | int64 | quote }}
TALK_FILE_QUOTA_BYTES: {{ $f.quotaBytes | int64 | quote }}
TALK_FILE_URL_TTL_SECS: {{ $f.urlTtlSecs | int64 | quote }}
TALK_WS_PONG_TIMEOUT_SECS: {{ .Values.config.wsPongTimeoutSecs | int64 | quote }}
TALK_WS_QUEUE_LEN: {{ .Values.config.wsQueueLen | int64 | quote }}
TALK_LOG_FORMAT: {{ .Values.config.logFormat | quote }}
{{- with .Values.config.logFilter }}
RUST_LOG: {{ . | quote }}
{{- end }}
{{- with .Values.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- range $k, $v := .Values.config.extraEnv }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end }}

{{/* Where the pods mount grpcTls.secretName. */}}
{{- define "talk.grpcTlsDir" -}}
/etc/talk/grpc-tls
{{- end }}

{{/* Secret configuration (only when the chart owns the Secret). */}}
{{- define "talk.secretData" -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "talk.fullname" .) }}
{{- $jwt := .Values.auth.jwtSecret }}
{{- if and (not $jwt) $existing $existing.data }}
{{- $jwt = index $existing.data "TALK_JWT_SECRET" | default "" | b64dec }}
{{- end }}
{{- if not $jwt }}
{{- $jwt = randAlphaNum 48 }}
{{- end }}
TALK_JWT_SECRET: {{ $jwt | b64enc | quote }}
TALK_DATABASE_URL: {{ required "database.url is required unless existingSecret is set" .Values.database.url | b64enc | quote }}
{{- with .Values.database.agentUrl }}
TALK_AGENT_DATABASE_URL: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.database.talkUrl }}
TALK_TALK_DATABASE_URL: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.database.messageUrl }}
TALK_MESSAGE_DATABASE_URL: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.database.webhookUrl }}
TALK_WEBHOOK_DATABASE_URL: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.files.s3.accessKeyId }}
TALK_FILE_S3_ACCESS_KEY_ID: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.files.s3.secretAccessKey }}
TALK_FILE_S3_SECRET_ACCESS_KEY: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.auth.adminPassword }}
TALK_ADMIN_PASSWORD: {{ . | b64enc | quote }}
{{- end }}
{{- end }}

{{/* Pod-level security context. */}}
{{- define "talk.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security context. */}}
{{- define "talk.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}
