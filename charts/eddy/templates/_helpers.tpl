{{/*
Names. Component names are "<fullname>-<component>"; fullname is cut to 45 characters so the longest
(<fullname>-contract-token) stays a valid 63-character name.
*/}}
{{- define "eddy.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 45 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 45 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "eddy.componentName" -}}
{{- printf "%s-%s" (include "eddy.fullname" .root) .component -}}
{{- end -}}

{{/* In-cluster base URL of a component's Service, as the other components and senders reach it. */}}
{{- define "eddy.serviceHost" -}}
{{- printf "%s.%s.svc.%s" (include "eddy.componentName" .) .root.Release.Namespace .root.Values.clusterDomain -}}
{{- end -}}

{{/* The controller's contract feed for one plane: broker, serving or sources. */}}
{{- define "eddy.contractUrl" -}}
{{- printf "http://%s:8080/v1/contract/%s" (include "eddy.serviceHost" (dict "root" .root "component" "controller")) .plane -}}
{{- end -}}

{{- define "eddy.kafkaBootstrap" -}}
{{- required "kafka.bootstrapServers is required: the host:port,... of the Kafka Eddy runs on (--set kafka.bootstrapServers=kafka.kafka.svc:9092)" .Values.kafka.bootstrapServers -}}
{{- end -}}

{{- define "eddy.oidcSigningKeySecret" -}}
{{- .Values.oidc.existingSecret | default (printf "%s-oidc-signing-key" (include "eddy.fullname" .)) -}}
{{- end -}}

{{- /* Eddy's OIDC issuer URL: the controller's Service, which serves discovery and JWKS. */}}
{{- define "eddy.oidcIssuer" -}}
{{- .Values.oidc.issuer | default (printf "http://%s:8080" (include "eddy.serviceHost" (dict "root" . "component" "controller"))) -}}
{{- end -}}

{{- define "eddy.contractTokenSecret" -}}
{{- .Values.contractToken.existingSecret | default (printf "%s-contract-token" (include "eddy.fullname" .)) -}}
{{- end -}}

{{- define "eddy.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: eddy
{{- end -}}

{{/* Selector labels of one component (dict "root" $ "component" "ingress"). */}}
{{- define "eddy.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "eddy.componentLabels" -}}
{{ include "eddy.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Kafka connection settings as environment variables: every component opening the event log reads them
with kafkaSecurityFromEnv (@eddy/broker), so the names here and there must stay the same (README "Kafka").
*/}}
{{- define "eddy.kafkaEnv" -}}
{{- $k := .Values.kafka -}}
{{- if $k.tls.enabled }}
- name: EDDY_KAFKA_TLS_ENABLED
  value: "true"
{{- if $k.tls.caSecret }}
- name: EDDY_KAFKA_TLS_CA_FILE
  value: /etc/eddy/kafka-ca/ca.crt
{{- end }}
{{- else if $k.tls.caSecret }}
{{- fail "kafka.tls.caSecret is set but kafka.tls.enabled is false: set kafka.tls.enabled=true to use it" }}
{{- end }}
{{- if $k.sasl.mechanism }}
- name: EDDY_KAFKA_SASL_MECHANISM
  value: {{ $k.sasl.mechanism | quote }}
- name: EDDY_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ required "kafka.sasl.secretName is required with kafka.sasl.mechanism: a Secret with the keys username and password" $k.sasl.secretName }}
      key: username
- name: EDDY_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $k.sasl.secretName }}
      key: password
{{- else if $k.sasl.secretName }}
{{- fail "kafka.sasl.secretName is set but kafka.sasl.mechanism is empty: set it to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512" }}
{{- end }}
{{- end -}}

{{/*
One component: its ServiceAccount, Service, Deployment, PodDisruptionBudget and (optionally)
ServiceMonitor. Every component is the same image with other arguments, so they share this.
  root        the chart's top context ($)
  component   controller, ingress, dispatcher, serving, sources
  values      the component's values (replicas, resources, scheduling, podAnnotations)
  args        the arguments after `eddy`
  ports       list of (dict "name" "containerPort" "servicePort"), all in the Service
  extraContainerPorts  list of (dict "name" "containerPort") served behind another Service (optional)
  healthPort  the name of the port that serves /healthz, /readyz and /metrics
  healthScheme  HTTPS when that port serves TLS (values tls.secretName); default HTTP
  apiAccess   whether the Pod gets a Kubernetes API token (only components with RBAC do)
  kafka       whether the component talks to Kafka (gets the kafka.* settings)
  volumes, volumeMounts  more of them (optional)
  oidc        whether the component signs Eddy's tokens (gets the OIDC signing key and issuer URL)
  singleton   exactly one replica, replaced by Recreate: two at once would both act
*/}}
{{- define "eddy.component" -}}
{{- $root := .root -}}
{{- $v := .values -}}
{{- $name := include "eddy.componentName" . -}}
{{- $replicas := ternary 1 (int $v.replicas) (default false .singleton) -}}
{{- $healthPort := 0 -}}
{{- range .ports }}{{ if eq .name $.healthPort }}{{ $healthPort = .containerPort }}{{ end }}{{ end -}}
{{- $kafkaCa := and .kafka $root.Values.kafka.tls.enabled $root.Values.kafka.tls.caSecret -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "eddy.componentLabels" . | nindent 4 }}
automountServiceAccountToken: {{ .apiAccess }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "eddy.componentLabels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "eddy.selectorLabels" . | nindent 4 }}
    {{- with .serviceSelector }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    {{- range .ports }}
    - name: {{ .name }}
      port: {{ .servicePort }}
      targetPort: {{ .name }}
      protocol: TCP
    {{- end }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "eddy.componentLabels" . | nindent 4 }}
spec:
  replicas: {{ $replicas }}
  revisionHistoryLimit: 5
  {{- if .singleton }}
  strategy:
    type: Recreate
  {{- end }}
  selector:
    matchLabels:
      {{- include "eddy.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "eddy.componentLabels" . | nindent 8 }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $healthPort | quote }}
        prometheus.io/path: /metrics
        {{- with merge (deepCopy (default (dict) $v.podAnnotations)) $root.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ $name }}
      automountServiceAccountToken: {{ .apiAccess }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- with $v.nodeSelector | default $root.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations | default $root.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity | default $root.Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ printf "%s:%s" $root.Values.image.repository ($root.Values.image.tag | default $root.Chart.AppVersion) | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          env:
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: EDDY_CONTRACT_TOKEN
              valueFrom:
                secretKeyRef:
                  name: {{ include "eddy.contractTokenSecret" $root }}
                  key: {{ $root.Values.contractToken.existingSecretKey }}
            {{- if .oidc }}
            - name: EDDY_OIDC_SIGNING_KEY
              value: /etc/eddy/oidc/signing-key.pem
            - name: EDDY_OIDC_ISSUER
              value: {{ include "eddy.oidcIssuer" $root | quote }}
            {{- end }}
            {{- if .kafka }}
            {{- with include "eddy.kafkaEnv" $root | trim }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- end }}
          ports:
            {{- range .ports }}
            - name: {{ .name }}
              containerPort: {{ .containerPort }}
              protocol: TCP
            {{- end }}
            {{- range .extraContainerPorts }}
            - name: {{ .name }}
              containerPort: {{ .containerPort }}
              protocol: TCP
            {{- end }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: {{ .healthPort }}
              {{- if eq (default "HTTP" .healthScheme) "HTTPS" }}
              scheme: HTTPS
              {{- end }}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: {{ .healthPort }}
              {{- if eq (default "HTTP" .healthScheme) "HTTPS" }}
              scheme: HTTPS
              {{- end }}
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 3
          startupProbe:
            httpGet:
              path: /healthz
              port: {{ .healthPort }}
              {{- if eq (default "HTTP" .healthScheme) "HTTPS" }}
              scheme: HTTPS
              {{- end }}
            periodSeconds: 2
            failureThreshold: 60
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          {{- /* The root file system is read-only; Node and the Kafka clients may still want a scratch dir. */}}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if $kafkaCa }}
            - name: kafka-ca
              mountPath: /etc/eddy/kafka-ca
              readOnly: true
            {{- end }}
            {{- if .oidc }}
            - name: oidc-signing-key
              mountPath: /etc/eddy/oidc
              readOnly: true
            {{- end }}
            {{- with .volumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- if $kafkaCa }}
        - name: kafka-ca
          secret:
            secretName: {{ $root.Values.kafka.tls.caSecret }}
            items:
              - key: ca.crt
                path: ca.crt
        {{- end }}
        {{- if .oidc }}
        - name: oidc-signing-key
          secret:
            secretName: {{ include "eddy.oidcSigningKeySecret" $root }}
            items:
              - key: {{ $root.Values.oidc.existingSecretKey }}
                path: signing-key.pem
        {{- end }}
        {{- with .volumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "eddy.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ $root.Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "eddy.selectorLabels" . | nindent 6 }}
{{- if $root.Values.metrics.serviceMonitor.enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "eddy.componentLabels" . | nindent 4 }}
    {{- with $root.Values.metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "eddy.selectorLabels" . | nindent 6 }}
  endpoints:
    - port: {{ .healthPort }}
      path: /metrics
      interval: {{ $root.Values.metrics.serviceMonitor.interval }}
      {{- if eq (default "HTTP" .healthScheme) "HTTPS" }}
      scheme: https
      tlsConfig:
        serverName: {{ include "eddy.serviceHost" . }}
        ca:
          secret:
            name: {{ $root.Values.tls.secretName }}
            key: ca.crt
      {{- end }}
{{- end }}
{{- end -}}

{{/*
What the source adapters need of their own: an ApiServerSource reads as its serviceAccountName, by
impersonating it, so that account's RBAC decides what it sees (discovery, lists, watches and its
SelfSubjectAccessReviews all go out as that account, not as this one).
*/}}
{{- define "eddy.sourcesRules" -}}
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [impersonate]
{{- end -}}

{{/*
The serving TLS Secret (values tls.secretName) as a volume, its mount and the flags that read it:
a dict with "args", "volumes", "volumeMounts" (empty lists without TLS), for the components that
serve HTTPS (ingress, serving's router, sources' webhook endpoints).
*/}}
{{- define "eddy.tls" -}}
{{- if .Values.tls.secretName -}}
{{- toJson (dict
  "args" (list "--tls-cert" "/etc/eddy/tls/tls.crt" "--tls-key" "/etc/eddy/tls/tls.key")
  "volumes" (list (dict "name" "serving-tls" "secret" (dict "secretName" .Values.tls.secretName)))
  "volumeMounts" (list (dict "name" "serving-tls" "mountPath" "/etc/eddy/tls" "readOnly" true))) -}}
{{- else -}}
{{- toJson (dict "args" (list) "volumes" (list) "volumeMounts" (list)) -}}
{{- end -}}
{{- end -}}
