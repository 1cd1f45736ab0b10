package componentcheck

import (
	"fmt"
	"strings"
)

// metadataFix is how an override corrects a components-contrib metadata.yaml.
type metadataFix int

const (
	// perRequest clears the required flag of a key the component reads from each invocation's metadata,
	// its component-level value being only a default: a component without it is complete.
	perRequest metadataFix = iota
	// awsDefaultChain adds the AWS SDK default credential chain (IRSA, instance profile, environment) as an
	// ambient-identity profile to a file that lists only access-key authentication although the component
	// builds its client through components-contrib's shared AWS configuration, which falls back to that
	// chain when no key is given. Key names the key the file's access-key profile wrongly requires.
	awsDefaultChain
)

// metadataOverride corrects one known mistake of a components-contrib metadata.yaml, with the code that
// shows it to be one. Overrides only ever accept what the component's code accepts; applyOverrides fails
// when the mistake is gone, so the table cannot outlive a components-contrib upgrade unnoticed.
type metadataOverride struct {
	Type     string // component type, as the metadata.yaml names it (type.name)
	Key      string
	Fix      metadataFix
	Why      string
	Evidence string // where components-contrib's code shows it, relative to the module at ContribVersion
}

// metadataOverrides are the corrections components-contrib v1.18.3's metadata.yaml files need. orderflow's
// notifications and shipping apps send fileName, emailFrom, emailTo and subject with every invocation
// (apps/notifications/mailer/mailer.go, apps/shipping/labels/labels.go).
var metadataOverrides = []metadataOverride{
	{
		Type: "bindings.localstorage", Key: "fileName", Fix: perRequest,
		Why:      "the file name is per invocation (create names the file after a random UUID without it); the component has no fileName of its own",
		Evidence: `bindings/localstorage/localstorage.go: Invoke reads req.Metadata["fileName"] (line 316); the component's Metadata struct has only rootPath (line 58)`,
	},
	{
		Type: "bindings.aws.ses", Key: "emailFrom", Fix: perRequest,
		Why:      "the sender may come with each invocation; the component's value is only the default",
		Evidence: "bindings/aws/ses/ses.go: Invoke merges the request's metadata over the component's (mergeWithRequestMetadata, line 109) before it requires emailFrom (line 112)",
	},
	{
		Type: "bindings.aws.ses", Key: "emailTo", Fix: perRequest,
		Why:      "the recipient is per invocation; the component's value is only the default",
		Evidence: "bindings/aws/ses/ses.go: Invoke merges the request's metadata over the component's (mergeWithRequestMetadata, line 109) before it requires emailTo",
	},
	{
		Type: "bindings.aws.ses", Key: "subject", Fix: perRequest,
		Why:      "the subject is per invocation; the component's value is only the default",
		Evidence: "bindings/aws/ses/ses.go: Invoke merges the request's metadata over the component's (mergeWithRequestMetadata, line 109) before it requires subject",
	},
	{
		Type: "bindings.aws.ses", Key: "accessKey", Fix: awsDefaultChain,
		Why:      "without accessKey and secretKey the binding authenticates with the SDK's default credential chain (IRSA on EKS)",
		Evidence: "bindings/aws/ses/ses.go: Init builds its config with common/aws.NewConfig; common/aws/config.go (lines 77-88) loads the SDK default config when common/aws/auth/auth_static.go newAuthStatic finds no key nor assumeRoleArn (ProviderTypeUnknown, line 76)",
	},
	{
		Type: "bindings.twilio.sendgrid", Key: "emailFrom", Fix: perRequest,
		Why:      "the sender may come with each invocation; the component's value is only the default",
		Evidence: "bindings/twilio/sendgrid/sendgrid.go: Invoke takes emailFrom from the request or the component and fails only when both lack it (line 139); parseMetadata requires only apiKey (line 71)",
	},
	{
		Type: "bindings.twilio.sendgrid", Key: "emailTo", Fix: perRequest,
		Why:      "the recipient is per invocation; the component's value is only the default",
		Evidence: "bindings/twilio/sendgrid/sendgrid.go: Invoke takes emailTo from the request or the component and fails only when both lack it (line 163)",
	},
	{
		Type: "bindings.twilio.sendgrid", Key: "subject", Fix: perRequest,
		Why:      "the subject is per invocation; the component's value is only the default",
		Evidence: "bindings/twilio/sendgrid/sendgrid.go: Invoke takes subject from the request or the component and fails only when both lack it (line 175)",
	},
}

// awsDefaultChainTitle names the profile an awsDefaultChain override adds.
const awsDefaultChainTitle = "AWS: default credential chain (IRSA, instance profile, environment; orderflow override)"

// applyOverrides corrects defs (from loadMetadataFiles) in place. An override whose component has no
// metadata.yaml, or whose mistake the file no longer makes, is an error naming the entry to drop.
func applyOverrides(defs map[string]*Definition, overrides []metadataOverride) error {
	for _, o := range overrides {
		matched := false
		for _, def := range defs {
			if def.Type != strings.ToLower(o.Type) {
				continue
			}
			matched = true
			if err := o.apply(def); err != nil {
				return fmt.Errorf("metadata override %s %s (%s): %w; remove it from metadataOverrides", o.Type, o.Key, def.Source, err)
			}
		}
		if !matched {
			return fmt.Errorf("metadata override %s %s: components-contrib has no metadata.yaml for %s; remove it from metadataOverrides", o.Type, o.Key, o.Type)
		}
	}
	return nil
}

func (o metadataOverride) apply(def *Definition) error {
	switch o.Fix {
	case perRequest:
		for i, f := range def.Fields {
			if !strings.EqualFold(f.Name, o.Key) {
				continue
			}
			if !f.Required {
				return fmt.Errorf("%s is no longer marked required", o.Key)
			}
			def.Fields[i].Required = false
			return nil
		}
		return fmt.Errorf("%s is not in its metadata", o.Key)
	case awsDefaultChain:
		if def.hasIdentityProfile() {
			return fmt.Errorf("it already has an ambient-identity profile")
		}
		if !profileRequires(def.Profiles, o.Key) {
			return fmt.Errorf("no authentication profile requires %s", o.Key)
		}
		// region is optional: the chain also reads AWS_REGION. endpoint is not offered: the bindings this
		// applies to pass none to common/aws.NewConfig.
		def.Profiles = append(def.Profiles, Profile{Title: awsDefaultChainTitle, Identity: true, Fields: []Field{{Name: "region"}}})
		return nil
	default:
		return fmt.Errorf("unknown fix %d", o.Fix)
	}
}

// profileRequires reports whether any profile requires key.
func profileRequires(profiles []Profile, key string) bool {
	for _, p := range profiles {
		for _, f := range p.Fields {
			if f.Required && strings.EqualFold(f.Name, key) {
				return true
			}
		}
	}
	return false
}
