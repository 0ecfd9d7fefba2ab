/**
 * The VPC: public and private subnets in two AZs. The Lambdas and RDS live in the private
 * subnets; a NAT instance per AZ (fck-nat, `nat: "ec2"`) gives them a way out, and doubles as
 * the bastion that `sst tunnel` and `sst dev` use to reach the database from a laptop.
 */
import { settings } from "./settings";

export const vpc = new sst.aws.Vpc("Vpc", {
  az: settings.network.az,
  nat: settings.network.nat,
  bastion: settings.network.bastion,
});

// S3 traffic from the private subnets goes through a (free) gateway endpoint rather than the
// NAT instance: cheaper, and the Lambda still reaches S3 if the NAT instance is down.
export const s3Endpoint = new aws.ec2.VpcEndpoint("VpcS3Endpoint", {
  vpcId: vpc.id,
  serviceName: $interpolate`com.amazonaws.${aws.getRegionOutput().name}.s3`,
  vpcEndpointType: "Gateway",
  routeTableIds: vpc.nodes.privateRouteTables.apply((tables) => tables.map((t) => t.id)),
});
